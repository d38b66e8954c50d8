CREATE TABLE `intake_cursor` (
	`source` varchar(32) NOT NULL,
	`position` bigint NOT NULL,
	`updated_ms` bigint NOT NULL,
	CONSTRAINT `intake_cursor_source` PRIMARY KEY(`source`)
);
--> statement-breakpoint
CREATE TABLE `intake_rejection` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`source` varchar(16) NOT NULL,
	`source_ref` varchar(128) NOT NULL,
	`order_id` varchar(64),
	`reason` varchar(512) NOT NULL,
	`raw` text NOT NULL,
	`created_ms` bigint NOT NULL,
	CONSTRAINT `intake_rejection_id` PRIMARY KEY(`id`),
	CONSTRAINT `intake_rejection_ref` UNIQUE(`source`,`source_ref`)
);
--> statement-breakpoint
CREATE TABLE `settlement_order` (
	`order_id` varchar(64) NOT NULL,
	`flow` varchar(8) NOT NULL,
	`asset` varchar(8) NOT NULL,
	`user_id` varchar(64) NOT NULL,
	`qty` decimal(36,18) NOT NULL,
	`usdt` decimal(36,18) NOT NULL,
	`shard` smallint NOT NULL,
	`status` varchar(12) NOT NULL,
	`step` tinyint NOT NULL,
	`attempt` int NOT NULL,
	`carry` decimal(36,18),
	`error_code` varchar(64),
	`error_message` varchar(512),
	`source` varchar(16) NOT NULL,
	`counter_created_ms` bigint NOT NULL,
	`intake_ms` bigint NOT NULL,
	`updated_ms` bigint NOT NULL,
	`done_ms` bigint,
	CONSTRAINT `settlement_order_order_id` PRIMARY KEY(`order_id`)
);
--> statement-breakpoint
CREATE TABLE `settlement_step` (
	`order_id` varchar(64) NOT NULL,
	`step` tinyint NOT NULL,
	`attempt` int NOT NULL,
	`status` varchar(12) NOT NULL,
	`error_code` varchar(64),
	`error_message` varchar(512),
	`result` decimal(36,18),
	`started_ms` bigint NOT NULL,
	`finished_ms` bigint NOT NULL,
	`latency_ms` int NOT NULL,
	CONSTRAINT `settlement_step_order_id_step_attempt_pk` PRIMARY KEY(`order_id`,`step`,`attempt`)
);
--> statement-breakpoint
CREATE INDEX `settlement_order_status_updated` ON `settlement_order` (`status`,`updated_ms`);