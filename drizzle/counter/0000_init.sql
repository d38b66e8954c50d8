CREATE TABLE `sync_order` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`order_id` varchar(64) NOT NULL,
	`shard` smallint NOT NULL,
	`user_id` varchar(64),
	`biz_type` varchar(32) NOT NULL,
	`flow` varchar(16),
	`asset` varchar(16),
	`qty` decimal(36,18),
	`usdt` decimal(36,18),
	`created_ms` bigint NOT NULL,
	CONSTRAINT `sync_order_id` PRIMARY KEY(`id`),
	CONSTRAINT `sync_order_order_id_unique` UNIQUE(`order_id`)
);
--> statement-breakpoint
CREATE INDEX `sync_order_shard_created` ON `sync_order` (`shard`,`created_ms`);