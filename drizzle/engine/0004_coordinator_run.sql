CREATE TABLE `coordinator_run` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`duty` varchar(32) NOT NULL,
	`token` bigint NOT NULL,
	`holder` varchar(128) NOT NULL,
	`outcome` varchar(8) NOT NULL,
	`items` int NOT NULL,
	`started_ms` bigint NOT NULL,
	`finished_ms` bigint NOT NULL,
	CONSTRAINT `coordinator_run_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `coordinator_fence` ADD `holder` varchar(128) DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `coordinator_run_duty` ON `coordinator_run` (`duty`,`started_ms`);