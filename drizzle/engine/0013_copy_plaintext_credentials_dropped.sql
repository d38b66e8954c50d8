ALTER TABLE `copy_copier` DROP INDEX `copy_copier_token_unique`;--> statement-breakpoint
ALTER TABLE `copy_copier` DROP COLUMN `token`;--> statement-breakpoint
ALTER TABLE `copy_trader` DROP COLUMN `api_secret`;