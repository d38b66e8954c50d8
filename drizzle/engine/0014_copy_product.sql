CREATE TABLE `copy_equity_snapshot` (
	`account_id` varbinary(64) NOT NULL,
	`at_ms` bigint NOT NULL,
	`equity` decimal(36,18) NOT NULL,
	`net_flow` decimal(36,18) NOT NULL,
	CONSTRAINT `copy_equity_snapshot_account_id_at_ms_pk` PRIMARY KEY(`account_id`,`at_ms`)
);
--> statement-breakpoint
CREATE TABLE `copy_invite` (
	`code` varbinary(32) NOT NULL,
	`trader_id` varbinary(64) NOT NULL,
	`remaining` int NOT NULL,
	`expires_ms` bigint NOT NULL,
	`created_ms` bigint NOT NULL,
	CONSTRAINT `copy_invite_code` PRIMARY KEY(`code`)
);
--> statement-breakpoint
CREATE TABLE `copy_lead_application` (
	`application_id` varbinary(32) NOT NULL,
	`user_id` varbinary(64) NOT NULL,
	`request` text NOT NULL,
	`eligibility` text NOT NULL,
	`eligible` boolean NOT NULL,
	`status` varchar(12) NOT NULL,
	`reason` varchar(255),
	`created_ms` bigint NOT NULL,
	`decided_ms` bigint,
	CONSTRAINT `copy_lead_application_application_id` PRIMARY KEY(`application_id`)
);
--> statement-breakpoint
CREATE TABLE `copy_lead_day` (
	`trader_id` varbinary(64) NOT NULL,
	`day` varchar(10) NOT NULL,
	`aum` decimal(36,18) NOT NULL,
	`copiers` int NOT NULL,
	`updated_ms` bigint NOT NULL,
	CONSTRAINT `copy_lead_day_trader_id_day_pk` PRIMARY KEY(`trader_id`,`day`)
);
--> statement-breakpoint
CREATE TABLE `copy_lead_review` (
	`review_id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`trader_id` varbinary(64) NOT NULL,
	`application_id` varbinary(32),
	`action` varchar(12) NOT NULL,
	`reason` varchar(255) NOT NULL,
	`actor` varchar(64) NOT NULL,
	`at_ms` bigint NOT NULL,
	CONSTRAINT `copy_lead_review_review_id` PRIMARY KEY(`review_id`)
);
--> statement-breakpoint
CREATE TABLE `copy_lead_status` (
	`trader_id` varbinary(64) NOT NULL,
	`status` varchar(12) NOT NULL,
	`level` int NOT NULL,
	`visibility` varchar(8) NOT NULL,
	`min_copy_amount` decimal(36,18) NOT NULL,
	`approved_ms` bigint NOT NULL,
	`updated_ms` bigint NOT NULL,
	CONSTRAINT `copy_lead_status_trader_id` PRIMARY KEY(`trader_id`)
);
--> statement-breakpoint
CREATE TABLE `copy_notice` (
	`notice_id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` varbinary(64) NOT NULL,
	`kind` varchar(24) NOT NULL,
	`dedup_key` varbinary(255) NOT NULL,
	`payload` text NOT NULL,
	`created_ms` bigint NOT NULL,
	CONSTRAINT `copy_notice_notice_id` PRIMARY KEY(`notice_id`),
	CONSTRAINT `copy_notice_dedup_key_unique` UNIQUE(`dedup_key`)
);
--> statement-breakpoint
CREATE TABLE `copy_ps_pair` (
	`copier_id` varbinary(64) NOT NULL,
	`trader_id` varbinary(64) NOT NULL,
	`high_water_mark` decimal(36,18) NOT NULL,
	`withheld` decimal(36,18) NOT NULL,
	`paid` decimal(36,18) NOT NULL,
	`refunded` decimal(36,18) NOT NULL,
	`escrowed` decimal(36,18) NOT NULL,
	`last_settled` varchar(16),
	`pending` text,
	`updated_ms` bigint NOT NULL,
	CONSTRAINT `copy_ps_pair_copier_id_trader_id_pk` PRIMARY KEY(`copier_id`,`trader_id`)
);
--> statement-breakpoint
CREATE TABLE `copy_ps_statement` (
	`copier_id` varbinary(64) NOT NULL,
	`trader_id` varbinary(64) NOT NULL,
	`period` varchar(16) NOT NULL,
	`status` varchar(12) NOT NULL,
	`reason` varchar(16),
	`cumulative_pnl` decimal(36,18) NOT NULL,
	`high_water_mark` decimal(36,18) NOT NULL,
	`withheld` decimal(36,18) NOT NULL,
	`paid` decimal(36,18) NOT NULL,
	`refunded` decimal(36,18) NOT NULL,
	`payout` decimal(36,18) NOT NULL,
	`refund` decimal(36,18) NOT NULL,
	`escrow` decimal(36,18) NOT NULL,
	`by` varchar(8) NOT NULL,
	`created_ms` bigint NOT NULL,
	CONSTRAINT `copy_ps_statement_copier_id_trader_id_period_pk` PRIMARY KEY(`copier_id`,`trader_id`,`period`)
);
--> statement-breakpoint
CREATE INDEX `copy_invite_trader` ON `copy_invite` (`trader_id`);--> statement-breakpoint
CREATE INDEX `copy_lead_application_user` ON `copy_lead_application` (`user_id`,`created_ms`);--> statement-breakpoint
CREATE INDEX `copy_lead_review_trader` ON `copy_lead_review` (`trader_id`,`at_ms`);--> statement-breakpoint
CREATE INDEX `copy_notice_user` ON `copy_notice` (`user_id`,`notice_id`);--> statement-breakpoint
CREATE INDEX `copy_ps_pair_trader` ON `copy_ps_pair` (`trader_id`);--> statement-breakpoint
CREATE INDEX `copy_ps_statement_trader` ON `copy_ps_statement` (`trader_id`,`period`);