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
