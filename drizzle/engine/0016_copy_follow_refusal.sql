CREATE TABLE `copy_follow_refusal` (
	`copier_id` varbinary(64) NOT NULL,
	`trader_id` varbinary(64) NOT NULL,
	`code` varchar(64) NOT NULL,
	`count` int NOT NULL,
	`last_ms` bigint NOT NULL,
	CONSTRAINT `copy_follow_refusal_copier_id_trader_id_pk` PRIMARY KEY(`copier_id`,`trader_id`)
);
