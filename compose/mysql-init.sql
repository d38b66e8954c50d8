-- Canal reads the binlog as a replica would: it needs these rights and no others.
-- Also the --init-file of the tests' binlog MariaDB (test/infra/mariadb/binlog-mariadb.ts): run at
-- every start there, so each statement must be repeatable.
CREATE USER IF NOT EXISTS 'canal'@'%' IDENTIFIED BY 'canal';
GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'canal'@'%';
CREATE DATABASE IF NOT EXISTS tradeflow_counter;
FLUSH PRIVILEGES;
