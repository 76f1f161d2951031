-- Runs once, when the postgres volume is first initialised (/docker-entrypoint-initdb.d), as POSTGRES_USER (qiao)
-- connected to POSTGRES_DB (qiao: the audit log, schema qiao_audit). Adds the 市场监管 法人库 front-end database
-- (前置库) that `qiao simulate market` seeds and the market-qzk connector reads. In a real deployment the 前置库
-- belongs to the providing department and the gateway gets a read-only role on it.
CREATE DATABASE qzk OWNER qiao;
