-- Canal reads the binlog as a replica would: it needs these rights and no others.
CREATE USER IF NOT EXISTS 'canal'@'%' IDENTIFIED BY 'canal';
GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'canal'@'%';
CREATE DATABASE IF NOT EXISTS tradeflow_counter;
FLUSH PRIVILEGES;
