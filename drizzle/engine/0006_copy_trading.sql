CREATE TABLE `copy_copier` (
	`copier_id` varchar(64) NOT NULL,
	`token` varchar(128) NOT NULL,
	`account_id` varchar(64) NOT NULL,
	`margin_kind` varchar(16) NOT NULL,
	`updated_ms` bigint NOT NULL,
	CONSTRAINT `copy_copier_copier_id` PRIMARY KEY(`copier_id`),
	CONSTRAINT `copy_copier_token_unique` UNIQUE(`token`)
);
--> statement-breakpoint
CREATE TABLE `copy_follow` (
	`copier_id` varchar(64) NOT NULL,
	`trader_id` varchar(64) NOT NULL,
	`settings` text NOT NULL,
	`status` varchar(8) NOT NULL,
	`updated_ms` bigint NOT NULL,
	CONSTRAINT `copy_follow_copier_id_trader_id_pk` PRIMARY KEY(`copier_id`,`trader_id`)
);
--> statement-breakpoint
CREATE TABLE `copy_order` (
	`client_order_id` varchar(240) NOT NULL,
	`signal_key` varchar(160) NOT NULL,
	`copier_id` varchar(64) NOT NULL,
	`trader_id` varchar(64) NOT NULL,
	`instrument` varchar(32) NOT NULL,
	`action` varchar(8) NOT NULL,
	`side` varchar(8) NOT NULL,
	`qty` decimal(36,18) NOT NULL,
	`status` varchar(12) NOT NULL,
	`fill_price` decimal(36,18),
	`fee` decimal(36,18),
	`error_code` varchar(64),
	`created_ms` bigint NOT NULL,
	CONSTRAINT `copy_order_client_order_id` PRIMARY KEY(`client_order_id`)
);
--> statement-breakpoint
CREATE TABLE `copy_signal` (
	`signal_key` varchar(160) NOT NULL,
	`trader_id` varchar(64) NOT NULL,
	`payload` text NOT NULL,
	`received_ms` bigint NOT NULL,
	`done_ms` bigint,
	`orders` int,
	`skips` int,
	CONSTRAINT `copy_signal_signal_key` PRIMARY KEY(`signal_key`)
);
--> statement-breakpoint
CREATE TABLE `copy_skip` (
	`signal_key` varchar(160) NOT NULL,
	`copier_id` varchar(64) NOT NULL,
	`trader_id` varchar(64) NOT NULL,
	`reason` varchar(32) NOT NULL,
	`detail` varchar(255),
	`created_ms` bigint NOT NULL,
	CONSTRAINT `copy_skip_signal_key_copier_id_pk` PRIMARY KEY(`signal_key`,`copier_id`)
);
--> statement-breakpoint
CREATE TABLE `copy_slice` (
	`copier_id` varchar(64) NOT NULL,
	`trader_id` varchar(64) NOT NULL,
	`instrument` varchar(32) NOT NULL,
	`side` varchar(8) NOT NULL,
	`qty` decimal(36,18) NOT NULL,
	`avg_entry_price` decimal(36,18) NOT NULL,
	`realised_pnl` decimal(36,18) NOT NULL,
	`fees` decimal(36,18) NOT NULL,
	`held_fees` decimal(36,18) NOT NULL,
	`share_accrued` decimal(36,18) NOT NULL,
	`updated_ms` bigint NOT NULL,
	CONSTRAINT `copy_slice_copier_id_trader_id_instrument_side_pk` PRIMARY KEY(`copier_id`,`trader_id`,`instrument`,`side`)
);
--> statement-breakpoint
CREATE TABLE `copy_trader` (
	`trader_id` varchar(64) NOT NULL,
	`api_key` varchar(64) NOT NULL,
	`api_secret` varchar(128) NOT NULL,
	`settings` text NOT NULL,
	`updated_ms` bigint NOT NULL,
	CONSTRAINT `copy_trader_trader_id` PRIMARY KEY(`trader_id`),
	CONSTRAINT `copy_trader_api_key_unique` UNIQUE(`api_key`)
);
--> statement-breakpoint
CREATE INDEX `copy_follow_trader` ON `copy_follow` (`trader_id`);--> statement-breakpoint
CREATE INDEX `copy_order_copier` ON `copy_order` (`copier_id`,`created_ms`);--> statement-breakpoint
CREATE INDEX `copy_skip_copier` ON `copy_skip` (`copier_id`);