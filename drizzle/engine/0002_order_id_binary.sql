ALTER TABLE `intake_rejection` MODIFY COLUMN `order_id` varchar(64) CHARACTER SET ascii COLLATE ascii_bin;--> statement-breakpoint
ALTER TABLE `settlement_order` MODIFY COLUMN `order_id` varchar(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;--> statement-breakpoint
ALTER TABLE `settlement_step` MODIFY COLUMN `order_id` varchar(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;