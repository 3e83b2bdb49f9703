-- PostgreSQL roles for mgc-iac's team state: the pull-request job reads the state and can write nothing.
-- Run once as the database's owner, in the state database, before the first apply; then give each role a
-- password (psql: \password mgc_iac_apply, \password mgc_iac_plan) and store them as CI secrets:
--   mgc_iac_apply: the protected environment of the apply and scheduled jobs (MGC_IAC_PGPASSWORD)
--   mgc_iac_plan:  the pull-request plan and approvals-check jobs (MGC_IAC_PLAN_PGPASSWORD)
CREATE ROLE mgc_iac_apply LOGIN;
CREATE ROLE mgc_iac_plan LOGIN;
DO $$ BEGIN
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %I TO mgc_iac_apply', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO mgc_iac_plan', current_database());
END $$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- the schema mgc-iac keeps its tables in, owned by the apply role (mgc-iac creates and upgrades the tables)
CREATE SCHEMA IF NOT EXISTS mgc_iac AUTHORIZATION mgc_iac_apply;
GRANT USAGE ON SCHEMA mgc_iac TO mgc_iac_plan;
-- every table the apply role creates there (now and in later upgrades) is readable by the plan role, only
ALTER DEFAULT PRIVILEGES FOR ROLE mgc_iac_apply IN SCHEMA mgc_iac GRANT SELECT ON TABLES TO mgc_iac_plan;
GRANT SELECT ON ALL TABLES IN SCHEMA mgc_iac TO mgc_iac_plan;
-- and a second fence: whatever a plan-role session asks, its transactions are read-only
ALTER ROLE mgc_iac_plan SET default_transaction_read_only = on;
