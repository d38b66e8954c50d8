CREATE TABLE `copy_drift` (
	`copier_id` varbinary(64) NOT NULL,
	`drift_key` varbinary(200) NOT NULL,
	`kind` varchar(32) NOT NULL,
	`trader_id` varbinary(80),
	`instrument` varbinary(32) NOT NULL,
	`side` varchar(8) NOT NULL,
	`slice_qty` decimal(36,18),
	`exchange_qty` decimal(36,18),
	`detail` varchar(255) NOT NULL,
	`first_ms` bigint NOT NULL,
	`last_ms` bigint NOT NULL,
	`resolved_ms` bigint,
	CONSTRAINT `copy_drift_copier_id_drift_key_pk` PRIMARY KEY(`copier_id`,`drift_key`)
);
--> statement-breakpoint
CREATE TABLE `copy_follow_day` (
	`copier_id` varbinary(64) NOT NULL,
	`trader_id` varbinary(64) NOT NULL,
	`day` varchar(8) NOT NULL,
	`base_pnl` decimal(36,18) NOT NULL,
	`created_ms` bigint NOT NULL,
	CONSTRAINT `copy_follow_day_copier_id_trader_id_day_pk` PRIMARY KEY(`copier_id`,`trader_id`,`day`)
);
--> statement-breakpoint
CREATE TABLE `copy_follow_refusal` (
	`copier_id` varbinary(64) NOT NULL,
	`trader_id` varbinary(64) NOT NULL,
	`code` varchar(64) NOT NULL,
	`count` int NOT NULL,
	`last_ms` bigint NOT NULL,
	CONSTRAINT `copy_follow_refusal_copier_id_trader_id_pk` PRIMARY KEY(`copier_id`,`trader_id`)
);
--> statement-breakpoint
CREATE INDEX `copy_drift_open` ON `copy_drift` (`resolved_ms`);