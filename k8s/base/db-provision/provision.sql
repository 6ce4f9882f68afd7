-- Harbor Shop: one schema and one login role per domain service.
--
-- Run inside the shop database as a superuser, or as a user with only CREATEROLE and
-- CREATEDB that owns that database (Amazon RDS's master user is such a user). Idempotent:
-- running it again changes nothing. This file is the single source: `cargo xtask` runs it (through shop-db),
-- and docker-compose and Kubernetes mount it as the Postgres init script.
--
-- Each role owns its own schema and has no privilege on any other, so a service that
-- tried to read another's tables would get "permission denied for schema ...".
DO $$
DECLARE
    service text;
    role_name text;
    -- `CREATE SCHEMA ... AUTHORIZATION r` needs a superuser or the right to act as r: a
    -- membership in r on PostgreSQL 15, the SET option of one on 16 and later.
    acts_as text := CASE WHEN current_setting('server_version_num')::int >= 160000
                         THEN 'SET' ELSE 'MEMBER' END;
    grant_options text := CASE WHEN acts_as = 'SET' THEN ' WITH SET TRUE' ELSE '' END;
BEGIN
    -- Roles are shared by the whole server: serialise concurrent runs (parallel tests).
    PERFORM pg_advisory_xact_lock(hashtext('harbor-shop-provision'));
    FOREACH service IN ARRAY ARRAY['users', 'catalog', 'orders', 'recommendations'] LOOP
        role_name := 'shop_' || service;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', role_name);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = service) THEN
            -- A superuser always may; anyone else is granted the role first (on RDS the
            -- master user is then a member of each service role, never the reverse).
            IF NOT pg_has_role(current_user, role_name, acts_as) THEN
                EXECUTE format('GRANT %I TO %I', role_name, current_user) || grant_options;
            END IF;
            EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', service, role_name);
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
            WHERE r.rolname = role_name AND s.setdatabase = 0
              AND s.setconfig @> ARRAY['search_path=' || service]
        ) THEN
            EXECUTE format('ALTER ROLE %I SET search_path = %I', role_name, service);
        END IF;
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), role_name);
    END LOOP;
    -- Nobody but the service roles (and superusers) may connect to the shop database.
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    -- Nothing shared by accident through the public schema.
    REVOKE ALL ON SCHEMA public FROM PUBLIC;
END
$$;
