ALTER TABLE `copy_copier` ADD `token_hash` binary(32);--> statement-breakpoint
ALTER TABLE `copy_trader` ADD `secret_enc` varbinary(256);--> statement-breakpoint
ALTER TABLE `copy_copier` ADD CONSTRAINT `copy_copier_token_hash_unique` UNIQUE(`token_hash`);