ALTER TABLE `copy_order` MODIFY COLUMN `trader_id` varchar(80) NOT NULL;--> statement-breakpoint
ALTER TABLE `copy_slice` MODIFY COLUMN `trader_id` varchar(80) NOT NULL;