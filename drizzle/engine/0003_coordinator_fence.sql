CREATE TABLE `coordinator_fence` (
	`name` varchar(64) NOT NULL,
	`token` bigint NOT NULL,
	`updated_ms` bigint NOT NULL,
	CONSTRAINT `coordinator_fence_name` PRIMARY KEY(`name`)
);
