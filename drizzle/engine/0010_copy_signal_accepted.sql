ALTER TABLE `copy_signal` ADD `entry` text;--> statement-breakpoint
-- drizzle-kit wrote the column and its unique key as two statements; MySQL and MariaDB refuse an AUTO_INCREMENT column without a key, so they are one
ALTER TABLE `copy_signal` ADD `seq` bigint unsigned AUTO_INCREMENT NOT NULL, ADD CONSTRAINT `copy_signal_seq_unique` UNIQUE(`seq`);--> statement-breakpoint
CREATE INDEX `copy_signal_open` ON `copy_signal` (`done_ms`,`seq`);
