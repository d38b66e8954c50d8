ALTER TABLE `copy_signal` ADD `part` smallint unsigned DEFAULT 0 NOT NULL, DROP PRIMARY KEY, ADD PRIMARY KEY(`signal_key`,`part`);
