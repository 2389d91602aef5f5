-- The local development database, prepared like a Supabase project so that
-- migrations, remote-schema dumps and seeds written for Supabase apply
-- unchanged. Run once, as the superuser `postgres`, when cargo-migrate creates
-- the cluster (and on each `verify` scratch database), in one transaction.
--
-- Our own DDL, written to match what these Supabase sources create (read, not
-- copied; every table lists the columns, types, defaults and keys they end with):
--   auth      supabase/auth     bc32168e13fdc928c98b449fc76bc3fdb9a293c5 (2026-08-20, migrations up to 20260625000000)
--   storage   supabase/storage  4fa61fba9371c4bd40cbb81509f07bcb3af21683 (2026-08-21, tenant migrations up to 0063)
--   vault     supabase/vault    16f1570e0ff5d384897b9bc15b5183a45702e2ab (supabase_vault 0.3.1)
--   realtime  supabase/realtime b125664343f65ced4509f853f03c9c57cc90232a (squashed migration 20260420000000)
--   roles, schemas, preinstalled extensions, grants:
--             supabase/postgres 7db7e1a9e34b9ffb9b0e3372ccf08eb4fa772f4b (migrations/db)
--   pg_net    supabase/pg_net 0.19 signatures; http: pgsql-http 1.6 signatures
--   pgmq      pgmq/pgmq c8575e31880ac0817b2c81d671e683bb1b54d882 (pgmq-extension/sql/pgmq.sql, 1.5.1)
-- Left out: auth's oauth_*, webauthn_* and custom_oauth_providers tables;
-- storage's iceberg/analytics/vector tables and its listing functions
-- (search, search_v2, list_*): the services' internals, not what migrations use.
--
-- Extensions: where this PostgreSQL has the real one, it is used. Where it
-- lacks one Supabase preinstalls or migrations commonly call, a STAND-IN from
-- stand_ins.sql is used: plain SQL/PL/pgSQL objects with the real names and
-- signatures. On PostgreSQL 18 and later they are real SQL-only extensions in
-- the local database's own folder (`extension_control_path`), so CREATE
-- EXTENSION finds them like any other. On older versions (no such setting, and
-- the installation's share folder is not ours to write) the objects are created
-- here and registered in pg_extension, with the objects as members, as CREATE
-- EXTENSION would: `CREATE EXTENSION IF NOT EXISTS x [WITH SCHEMA s]` then
-- succeeds, because PostgreSQL looks in pg_extension before it looks for x's
-- control file. Each is commented 'cargo-migrate local stand-in: ...' with what
-- it cannot do; `cargo migrate local status` lists them. The generated calls of
-- pg_temp.extension() replace the line `-- @STAND_INS@` below.

BEGIN;
SET LOCAL client_min_messages = warning;

-- Roles Supabase has, and that its migrations and dumps grant to.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'supabase_admin', 'supabase_auth_admin',
      'supabase_storage_admin', 'supabase_realtime_admin', 'supabase_replication_admin', 'supabase_read_only_user',
      'supabase_functions_admin', 'dashboard_user', 'pgbouncer', 'authenticator', 'pgsodium_keyholder',
      'pgsodium_keyiduser', 'pgsodium_keymaker']
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END $$;
ALTER ROLE service_role BYPASSRLS;
ALTER ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
GRANT anon, authenticated, service_role TO postgres;
GRANT pgsodium_keyiduser TO pgsodium_keyholder;
GRANT pgsodium_keyholder TO pgsodium_keymaker;
GRANT supabase_realtime_admin TO postgres;

-- Schemas as on Supabase.
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE SCHEMA IF NOT EXISTS graphql;
CREATE SCHEMA IF NOT EXISTS graphql_public;
CREATE SCHEMA IF NOT EXISTS vault;
CREATE SCHEMA IF NOT EXISTS pgsodium;
CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION supabase_auth_admin;
CREATE SCHEMA IF NOT EXISTS storage AUTHORIZATION supabase_storage_admin;
CREATE SCHEMA IF NOT EXISTS realtime;
CREATE SCHEMA IF NOT EXISTS supabase_functions AUTHORIZATION supabase_functions_admin;
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET search_path = "$user", public, extensions', current_database());
END $$;
SET search_path = "$user", public, extensions;

GRANT USAGE ON SCHEMA public, extensions, auth, storage, realtime, graphql, graphql_public
  TO anon, authenticated, service_role;
GRANT ALL ON SCHEMA public TO anon, authenticated, service_role;
GRANT ALL ON SCHEMA extensions TO dashboard_user;
GRANT USAGE ON SCHEMA vault TO postgres, service_role;
GRANT USAGE ON SCHEMA supabase_functions TO postgres, anon, authenticated, service_role;

-- Everything a database object could be a member of an extension as.
CREATE FUNCTION pg_temp.objects() RETURNS TABLE (classid oid, objid oid) LANGUAGE sql AS $$
  SELECT 'pg_catalog.pg_proc'::regclass::oid, p.oid FROM pg_catalog.pg_proc p
  UNION ALL
  SELECT 'pg_catalog.pg_class'::regclass::oid, c.oid FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
  SELECT 'pg_catalog.pg_type'::regclass::oid, t.oid FROM pg_catalog.pg_type t
   WHERE t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
  UNION ALL
  SELECT 'pg_catalog.pg_namespace'::regclass::oid, n.oid FROM pg_catalog.pg_namespace n
$$;

-- The real extension when this PostgreSQL has it (created only if Supabase
-- preinstalls it), else the stand-in `stand_in` creates, registered as `ext`.
CREATE FUNCTION pg_temp.extension(ext text, target text, preinstalled boolean, what_it_lacks text, stand_in text)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  ext_oid oid;
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = ext) THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = ext) THEN
    IF NOT preinstalled THEN
      RETURN; -- as on Supabase: available, created by the migration that wants it
    END IF;
    BEGIN
      EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA %I CASCADE', ext, target);
      RETURN;
    EXCEPTION WHEN OTHERS THEN
      -- e.g. a library that needs shared_preload_libraries: the stand-in instead.
      NULL;
    END;
  END IF;
  IF to_regnamespace(target) IS NULL THEN
    EXECUTE format('CREATE SCHEMA %I', target);
  END IF;
  DROP TABLE IF EXISTS pg_temp.before_stand_in;
  CREATE TEMP TABLE before_stand_in AS SELECT * FROM pg_temp.objects();
  -- What CREATE EXTENSION would substitute in a script.
  EXECUTE replace(replace(stand_in, '@extschema@', quote_ident(target)), '@extschema:pgcrypto@',
    coalesce((SELECT e.extnamespace::regnamespace::text FROM pg_catalog.pg_extension e WHERE e.extname = 'pgcrypto'),
             'extensions'));
  ext_oid := pg_catalog.pg_nextoid('pg_catalog.pg_extension', 'oid', 'pg_catalog.pg_extension_oid_index');
  INSERT INTO pg_catalog.pg_extension (oid, extname, extowner, extnamespace, extrelocatable, extversion, extconfig, extcondition)
  VALUES (ext_oid, ext, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user),
          target::regnamespace, false, 'stand-in', NULL, NULL);
  INSERT INTO pg_catalog.pg_depend (classid, objid, objsubid, refclassid, refobjid, refobjsubid, deptype)
  SELECT o.classid, o.objid, 0, 'pg_catalog.pg_extension'::regclass, ext_oid, 0, 'e'
    FROM pg_temp.objects() o
   WHERE NOT EXISTS (SELECT FROM pg_temp.before_stand_in b WHERE b.classid = o.classid AND b.objid = o.objid)
  UNION ALL
  SELECT 'pg_catalog.pg_extension'::regclass, ext_oid, 0, 'pg_catalog.pg_namespace'::regclass, target::regnamespace, 0, 'n';
  EXECUTE format('COMMENT ON EXTENSION %I IS %L', ext, 'cargo-migrate local stand-in: ' || what_it_lacks);
END
$fn$;

-- @STAND_INS@
-- What Supabase itself defines next to pg_graphql (not a member of it).
CREATE OR REPLACE FUNCTION graphql_public.graphql("operationName" text DEFAULT NULL, query text DEFAULT NULL,
                                                  variables jsonb DEFAULT NULL, extensions jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
  SELECT graphql.resolve(query => query, variables => coalesce(variables, '{}'),
                         "operationName" => "operationName", extensions => extensions)
$$;
GRANT ALL ON FUNCTION graphql_public.graphql(text, text, jsonb, jsonb) TO postgres, anon, authenticated, service_role;

-- auth: GoTrue's tables (as its migrations leave them), and the helpers RLS
-- policies call. The helpers read the request's JWT claims from settings, as
-- PostgREST sets them.
CREATE TYPE auth.aal_level AS ENUM ('aal1', 'aal2', 'aal3');
CREATE TYPE auth.code_challenge_method AS ENUM ('s256', 'plain');
CREATE TYPE auth.factor_status AS ENUM ('unverified', 'verified');
CREATE TYPE auth.factor_type AS ENUM ('totp', 'webauthn', 'phone');
CREATE TYPE auth.one_time_token_type AS ENUM ('confirmation_token', 'reauthentication_token', 'recovery_token',
  'email_change_token_new', 'email_change_token_current', 'phone_change_token');

CREATE TABLE auth.schema_migrations (version varchar(255) PRIMARY KEY);
CREATE TABLE auth.instances (
  id uuid PRIMARY KEY,
  uuid uuid,
  raw_base_config text,
  created_at timestamptz,
  updated_at timestamptz
);
CREATE TABLE auth.users (
  instance_id uuid,
  id uuid PRIMARY KEY,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text UNIQUE DEFAULT NULL,
  phone_confirmed_at timestamptz,
  phone_change text DEFAULT '',
  phone_change_token varchar(255) DEFAULT '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
  email_change_token_current varchar(255) DEFAULT '',
  email_change_confirm_status smallint DEFAULT 0 CHECK (email_change_confirm_status >= 0 AND email_change_confirm_status <= 2),
  banned_until timestamptz,
  reauthentication_token varchar(255) DEFAULT '',
  reauthentication_sent_at timestamptz,
  is_sso_user boolean NOT NULL DEFAULT false,
  deleted_at timestamptz,
  is_anonymous boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE auth.users IS 'Auth: Stores user login data within a secure schema.';
CREATE UNIQUE INDEX users_email_partial_key ON auth.users (email) WHERE is_sso_user = false;
CREATE INDEX users_instance_id_email_idx ON auth.users (instance_id, lower(email::text));
CREATE INDEX users_instance_id_idx ON auth.users (instance_id);
CREATE INDEX users_is_anonymous_idx ON auth.users (is_anonymous);
-- Tokens are unique unless empty or numeric (seeds insert '' for each user).
CREATE UNIQUE INDEX confirmation_token_idx ON auth.users (confirmation_token) WHERE confirmation_token::text !~ '^[0-9 ]*$';
CREATE UNIQUE INDEX recovery_token_idx ON auth.users (recovery_token) WHERE recovery_token::text !~ '^[0-9 ]*$';
CREATE UNIQUE INDEX email_change_token_current_idx ON auth.users (email_change_token_current)
  WHERE email_change_token_current::text !~ '^[0-9 ]*$';
CREATE UNIQUE INDEX email_change_token_new_idx ON auth.users (email_change_token_new)
  WHERE email_change_token_new::text !~ '^[0-9 ]*$';
CREATE UNIQUE INDEX reauthentication_token_idx ON auth.users (reauthentication_token)
  WHERE reauthentication_token::text !~ '^[0-9 ]*$';

CREATE TABLE auth.identities (
  provider_id text NOT NULL,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  identity_data jsonb NOT NULL,
  provider text NOT NULL,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text GENERATED ALWAYS AS (lower(identity_data ->> 'email')) STORED,
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  CONSTRAINT identities_provider_id_provider_unique UNIQUE (provider_id, provider)
);
CREATE INDEX identities_email_idx ON auth.identities (email text_pattern_ops);
CREATE INDEX identities_user_id_idx ON auth.identities (user_id);

CREATE TABLE auth.audit_log_entries (
  instance_id uuid,
  id uuid PRIMARY KEY,
  payload json,
  created_at timestamptz,
  ip_address varchar(64) NOT NULL DEFAULT ''
);
CREATE INDEX audit_logs_instance_id_idx ON auth.audit_log_entries (instance_id);

CREATE TABLE auth.sessions (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  created_at timestamptz,
  updated_at timestamptz,
  factor_id uuid,
  aal auth.aal_level,
  not_after timestamptz,
  refreshed_at timestamp,
  user_agent text,
  ip inet,
  tag text,
  oauth_client_id uuid,
  refresh_token_hmac_key text,
  refresh_token_counter bigint,
  scopes text CONSTRAINT sessions_scopes_length CHECK (char_length(scopes) <= 4096)
);
CREATE INDEX sessions_not_after_idx ON auth.sessions (not_after DESC);
CREATE INDEX sessions_user_id_idx ON auth.sessions (user_id);
CREATE INDEX user_id_created_at_idx ON auth.sessions (user_id, created_at);

CREATE TABLE auth.refresh_tokens (
  instance_id uuid,
  id bigserial PRIMARY KEY,
  token varchar(255) CONSTRAINT refresh_tokens_token_unique UNIQUE,
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid REFERENCES auth.sessions (id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_instance_id_idx ON auth.refresh_tokens (instance_id);
CREATE INDEX refresh_tokens_instance_id_user_id_idx ON auth.refresh_tokens (instance_id, user_id);
CREATE INDEX refresh_tokens_parent_idx ON auth.refresh_tokens (parent);
CREATE INDEX refresh_tokens_session_id_revoked_idx ON auth.refresh_tokens (session_id, revoked);
CREATE INDEX refresh_tokens_updated_at_idx ON auth.refresh_tokens (updated_at DESC);

CREATE TABLE auth.mfa_factors (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  friendly_name text,
  factor_type auth.factor_type NOT NULL,
  status auth.factor_status NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  secret text,
  phone text,
  last_challenged_at timestamptz UNIQUE,
  web_authn_credential jsonb,
  web_authn_aaguid uuid,
  last_webauthn_challenge_data jsonb
);
CREATE INDEX factor_id_created_at_idx ON auth.mfa_factors (user_id, created_at);
CREATE UNIQUE INDEX mfa_factors_user_friendly_name_unique ON auth.mfa_factors (friendly_name, user_id)
  WHERE TRIM(BOTH FROM friendly_name) <> '';
CREATE INDEX mfa_factors_user_id_idx ON auth.mfa_factors (user_id);
CREATE UNIQUE INDEX unique_phone_factor_per_user ON auth.mfa_factors (user_id, phone);

CREATE TABLE auth.mfa_challenges (
  id uuid PRIMARY KEY,
  factor_id uuid NOT NULL REFERENCES auth.mfa_factors (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  verified_at timestamptz,
  ip_address inet NOT NULL,
  otp_code text,
  web_authn_session_data jsonb
);
CREATE INDEX mfa_challenge_created_at_idx ON auth.mfa_challenges (created_at DESC);

CREATE TABLE auth.mfa_amr_claims (
  session_id uuid NOT NULL REFERENCES auth.sessions (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  authentication_method text NOT NULL,
  id uuid CONSTRAINT amr_id_pk PRIMARY KEY,
  CONSTRAINT mfa_amr_claims_session_id_authentication_method_pkey UNIQUE (session_id, authentication_method)
);

CREATE TABLE auth.one_time_tokens (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  token_type auth.one_time_token_type NOT NULL,
  token_hash text NOT NULL CHECK (char_length(token_hash) > 0),
  relates_to text NOT NULL,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now()
);
CREATE INDEX one_time_tokens_relates_to_hash_idx ON auth.one_time_tokens USING hash (relates_to);
CREATE INDEX one_time_tokens_token_hash_hash_idx ON auth.one_time_tokens USING hash (token_hash);
CREATE UNIQUE INDEX one_time_tokens_user_id_token_type_key ON auth.one_time_tokens (user_id, token_type);

CREATE TABLE auth.flow_state (
  id uuid PRIMARY KEY,
  user_id uuid,
  auth_code text,
  code_challenge_method auth.code_challenge_method,
  code_challenge text,
  provider_type text NOT NULL,
  provider_access_token text,
  provider_refresh_token text,
  created_at timestamptz,
  updated_at timestamptz,
  authentication_method text NOT NULL,
  auth_code_issued_at timestamptz,
  invite_token text,
  referrer text,
  oauth_client_state_id uuid,
  linking_target_id uuid,
  email_optional boolean NOT NULL DEFAULT false
);
CREATE INDEX flow_state_created_at_idx ON auth.flow_state (created_at DESC);
CREATE INDEX idx_auth_code ON auth.flow_state (auth_code);
CREATE INDEX idx_user_id_auth_method ON auth.flow_state (user_id, authentication_method);

CREATE TABLE auth.sso_providers (
  id uuid PRIMARY KEY,
  resource_id text CONSTRAINT "resource_id not empty" CHECK (resource_id = NULL OR char_length(resource_id) > 0),
  created_at timestamptz,
  updated_at timestamptz,
  disabled boolean
);
CREATE UNIQUE INDEX sso_providers_resource_id_idx ON auth.sso_providers (lower(resource_id));
CREATE INDEX sso_providers_resource_id_pattern_idx ON auth.sso_providers (resource_id text_pattern_ops);

CREATE TABLE auth.sso_domains (
  id uuid PRIMARY KEY,
  sso_provider_id uuid NOT NULL REFERENCES auth.sso_providers (id) ON DELETE CASCADE,
  domain text NOT NULL CONSTRAINT "domain not empty" CHECK (char_length(domain) > 0),
  created_at timestamptz,
  updated_at timestamptz
);
CREATE UNIQUE INDEX sso_domains_domain_idx ON auth.sso_domains (lower(domain));
CREATE INDEX sso_domains_sso_provider_id_idx ON auth.sso_domains (sso_provider_id);

CREATE TABLE auth.saml_providers (
  id uuid PRIMARY KEY,
  sso_provider_id uuid NOT NULL REFERENCES auth.sso_providers (id) ON DELETE CASCADE,
  entity_id text NOT NULL UNIQUE CONSTRAINT "entity_id not empty" CHECK (char_length(entity_id) > 0),
  metadata_xml text NOT NULL CONSTRAINT "metadata_xml not empty" CHECK (char_length(metadata_xml) > 0),
  metadata_url text CONSTRAINT "metadata_url not empty" CHECK (metadata_url = NULL OR char_length(metadata_url) > 0),
  attribute_mapping jsonb,
  created_at timestamptz,
  updated_at timestamptz,
  name_id_format text
);
CREATE INDEX saml_providers_sso_provider_id_idx ON auth.saml_providers (sso_provider_id);

CREATE TABLE auth.saml_relay_states (
  id uuid PRIMARY KEY,
  sso_provider_id uuid NOT NULL REFERENCES auth.sso_providers (id) ON DELETE CASCADE,
  request_id text NOT NULL CONSTRAINT "request_id not empty" CHECK (char_length(request_id) > 0),
  for_email text,
  redirect_to text,
  created_at timestamptz,
  updated_at timestamptz,
  flow_state_id uuid REFERENCES auth.flow_state (id) ON DELETE CASCADE
);
CREATE INDEX saml_relay_states_created_at_idx ON auth.saml_relay_states (created_at DESC);
CREATE INDEX saml_relay_states_for_email_idx ON auth.saml_relay_states (for_email);
CREATE INDEX saml_relay_states_sso_provider_id_idx ON auth.saml_relay_states (sso_provider_id);

CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;
COMMENT ON FUNCTION auth.uid() IS 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
COMMENT ON FUNCTION auth.role() IS 'Deprecated. Use auth.jwt() -> ''role'' instead.';
COMMENT ON FUNCTION auth.email() IS 'Deprecated. Use auth.jwt() -> ''email'' instead.';

-- Owned by GoTrue's role, RLS on with no policy, readable by postgres and the
-- dashboard (as on Supabase; the API roles see nothing).
DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'auth'::regnamespace AND c.relkind = 'r' LOOP
    EXECUTE format('ALTER TABLE auth.%I OWNER TO supabase_auth_admin', t);
    EXECUTE format('ALTER TABLE auth.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('GRANT ALL ON auth.%I TO postgres, dashboard_user', t);
  END LOOP;
END $$;
ALTER FUNCTION auth.jwt() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.uid() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.role() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.email() OWNER TO supabase_auth_admin;
ALTER TYPE auth.aal_level OWNER TO supabase_auth_admin;
ALTER TYPE auth.code_challenge_method OWNER TO supabase_auth_admin;
ALTER TYPE auth.factor_status OWNER TO supabase_auth_admin;
ALTER TYPE auth.factor_type OWNER TO supabase_auth_admin;
ALTER TYPE auth.one_time_token_type OWNER TO supabase_auth_admin;
GRANT EXECUTE ON FUNCTION auth.jwt(), auth.uid(), auth.role(), auth.email() TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA auth TO postgres, dashboard_user;
GRANT SELECT ON auth.users TO service_role;

-- storage: the Storage API's tables and the helpers policies call.
CREATE TYPE storage.buckettype AS ENUM ('STANDARD', 'ANALYTICS', 'VECTOR');
CREATE TABLE storage.migrations (
  id integer PRIMARY KEY,
  name varchar(100) NOT NULL UNIQUE,
  hash varchar(40) NOT NULL,
  executed_at timestamp DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE storage.buckets (
  id text PRIMARY KEY,
  name text NOT NULL,
  owner uuid,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  public boolean DEFAULT false,
  avif_autodetection boolean DEFAULT false,
  file_size_limit bigint,
  allowed_mime_types text[],
  owner_id text,
  type storage.buckettype NOT NULL DEFAULT 'STANDARD',
  versioning_status text NOT NULL DEFAULT 'DISABLED'
    CHECK (versioning_status = ANY (ARRAY['DISABLED', 'ENABLED', 'SUSPENDED']))
);
COMMENT ON COLUMN storage.buckets.owner IS 'Field is deprecated, use owner_id instead';
CREATE UNIQUE INDEX bname ON storage.buckets (name);
CREATE TABLE storage.objects (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  bucket_id text CONSTRAINT "objects_bucketId_fkey" REFERENCES storage.buckets (id),
  name text,
  owner uuid,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  last_accessed_at timestamptz DEFAULT now(),
  metadata jsonb,
  path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,
  version text,
  owner_id text,
  user_metadata jsonb,
  archived_at timestamptz,
  is_delete_marker boolean NOT NULL DEFAULT false,
  is_versioned boolean NOT NULL DEFAULT false
);
COMMENT ON COLUMN storage.objects.owner IS 'Field is deprecated, use owner_id instead';
CREATE UNIQUE INDEX bucketid_objname ON storage.objects (bucket_id, name);
CREATE INDEX idx_objects_bucket_id_name ON storage.objects (bucket_id, name COLLATE "C");
CREATE INDEX idx_objects_bucket_id_name_lower ON storage.objects (bucket_id, lower(name) COLLATE "C");
CREATE INDEX name_prefix_search ON storage.objects (name text_pattern_ops);
CREATE TABLE storage.s3_multipart_uploads (
  id text PRIMARY KEY,
  in_progress_size bigint NOT NULL DEFAULT 0,
  upload_signature text NOT NULL,
  bucket_id text NOT NULL REFERENCES storage.buckets (id),
  key text COLLATE "C" NOT NULL,
  version text NOT NULL,
  owner_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  user_metadata jsonb,
  metadata jsonb
);
CREATE TABLE storage.s3_multipart_uploads_parts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  upload_id text NOT NULL REFERENCES storage.s3_multipart_uploads (id) ON DELETE CASCADE,
  size bigint NOT NULL DEFAULT 0,
  part_number integer NOT NULL,
  bucket_id text NOT NULL REFERENCES storage.buckets (id),
  key text COLLATE "C" NOT NULL,
  etag text NOT NULL,
  owner_id text,
  version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- 'folder/sub/file.png' → {folder,sub}, 'file.png', 'png'.
CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT p[1:array_length(p, 1) - 1] FROM string_to_array(name, '/') AS p
$$;
CREATE FUNCTION storage.filename(name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT p[array_length(p, 1)] FROM string_to_array(name, '/') AS p
$$;
CREATE FUNCTION storage.extension(name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT reverse(split_part(reverse(storage.filename(name)), '.', 1))
$$;
CREATE FUNCTION storage.get_size_by_bucket() RETURNS TABLE (size bigint, bucket_id text) LANGUAGE sql STABLE AS $$
  SELECT sum((o.metadata ->> 'size')::bigint)::bigint, o.bucket_id FROM storage.objects o GROUP BY o.bucket_id
$$;
-- The operation the Storage API is performing (it sets storage.operation); none locally.
CREATE FUNCTION storage.operation() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT current_setting('storage.operation', true)
$$;
CREATE FUNCTION storage.allow_only_operation(expected_operation text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(expected_operation, '') IS NOT NULL
                  AND regexp_replace(storage.operation(), '^storage\.', '') = regexp_replace(expected_operation, '^storage\.', ''),
                  false)
$$;
CREATE FUNCTION storage.allow_any_operation(expected_operations text[]) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(bool_or(storage.allow_only_operation(e)), false) FROM unnest(expected_operations) AS e
$$;
-- The Storage API's check that the caller's policies allow an insert (always rolled back).
CREATE FUNCTION storage.can_insert_object(bucketid text, name text, owner uuid, metadata jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO storage.objects (bucket_id, name, owner, metadata) VALUES (bucketid, name, owner, metadata);
  RAISE SQLSTATE 'PT200' USING MESSAGE = 'ROLLBACK', DETAIL = 'rollback successful insert';
END
$$;
CREATE FUNCTION storage.update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END
$$;
CREATE FUNCTION storage.enforce_bucket_name_length() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF length(NEW.name) > 100 THEN
    RAISE EXCEPTION 'bucket name "%" is too long (% characters). Max is 100.', NEW.name, length(NEW.name);
  END IF;
  RETURN NEW;
END
$$;
-- Supabase refuses direct DELETEs on its storage tables (the files would be
-- orphaned) unless storage.allow_delete_query is 'true'.
CREATE FUNCTION storage.protect_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('storage.allow_delete_query', true), 'false') <> 'true' THEN
    RAISE EXCEPTION 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      USING HINT = 'This prevents accidental data loss from orphaned objects.', ERRCODE = '42501';
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER update_objects_updated_at BEFORE UPDATE ON storage.objects
  FOR EACH ROW EXECUTE FUNCTION storage.update_updated_at_column();
CREATE TRIGGER enforce_bucket_name_length_trigger BEFORE INSERT OR UPDATE OF name ON storage.buckets
  FOR EACH ROW EXECUTE FUNCTION storage.enforce_bucket_name_length();
CREATE TRIGGER protect_buckets_delete BEFORE DELETE ON storage.buckets
  FOR EACH STATEMENT EXECUTE FUNCTION storage.protect_delete();
CREATE TRIGGER protect_objects_delete BEFORE DELETE ON storage.objects
  FOR EACH STATEMENT EXECUTE FUNCTION storage.protect_delete();

DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'storage'::regnamespace AND c.relkind = 'r' LOOP
    EXECUTE format('ALTER TABLE storage.%I OWNER TO supabase_storage_admin', t);
    EXECUTE format('ALTER TABLE storage.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('GRANT ALL ON storage.%I TO postgres, anon, authenticated, service_role', t);
  END LOOP;
END $$;
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = 'storage'::regnamespace LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO supabase_storage_admin', f);
    EXECUTE format('GRANT ALL ON FUNCTION %s TO anon, authenticated, service_role', f);
  END LOOP;
END $$;
ALTER TYPE storage.buckettype OWNER TO supabase_storage_admin;
GRANT ALL ON SCHEMA storage TO supabase_storage_admin, dashboard_user;
ALTER DEFAULT PRIVILEGES IN SCHEMA storage GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA storage GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA storage GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;

-- realtime: Broadcast from the database (realtime.messages, send,
-- broadcast_changes, topic) and Postgres Changes' subscription table.
CREATE TYPE realtime.action AS ENUM ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'ERROR');
CREATE TYPE realtime.equality_op AS ENUM ('eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in');
CREATE TYPE realtime.user_defined_filter AS (column_name text, op realtime.equality_op, value text);
CREATE TYPE realtime.wal_column AS (name text, type_name text, type_oid oid, value jsonb, is_pkey boolean,
                                    is_selectable boolean);
CREATE TYPE realtime.wal_rls AS (wal jsonb, is_rls_enabled boolean, subscription_ids uuid[], errors text[]);
CREATE TABLE realtime.schema_migrations (version bigint PRIMARY KEY, inserted_at timestamp(0));
CREATE TABLE realtime.messages (
  topic text NOT NULL,
  extension text NOT NULL,
  payload jsonb,
  event text,
  private boolean DEFAULT false,
  updated_at timestamp NOT NULL DEFAULT now(),
  inserted_at timestamp NOT NULL DEFAULT now(),
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  CONSTRAINT messages_pkey PRIMARY KEY (id, inserted_at)
) PARTITION BY RANGE (inserted_at);
CREATE TABLE realtime.messages_default PARTITION OF realtime.messages DEFAULT;
CREATE INDEX messages_inserted_at_topic_index ON realtime.messages (inserted_at DESC, topic)
  WHERE extension = 'broadcast' AND private IS TRUE;
CREATE FUNCTION realtime.to_regrole(role_name text) RETURNS regrole LANGUAGE sql IMMUTABLE AS $$
  SELECT role_name::regrole
$$;
CREATE TABLE realtime.subscription (
  id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_subscription PRIMARY KEY,
  subscription_id uuid NOT NULL,
  entity regclass NOT NULL,
  filters realtime.user_defined_filter[] NOT NULL DEFAULT '{}',
  claims jsonb NOT NULL,
  claims_role regrole NOT NULL GENERATED ALWAYS AS (realtime.to_regrole(claims ->> 'role')) STORED,
  created_at timestamp NOT NULL DEFAULT timezone('utc', now()),
  action_filter text DEFAULT '*' CHECK (action_filter = ANY (ARRAY['*', 'INSERT', 'UPDATE', 'DELETE']))
);
CREATE INDEX ix_realtime_subscription_entity ON realtime.subscription (entity);
CREATE FUNCTION realtime.topic() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('realtime.topic', true), '')::text
$$;
-- Stored as the Realtime server would broadcast it; nothing listens locally.
CREATE FUNCTION realtime.send(payload jsonb, event text, topic text, private boolean DEFAULT true) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  new_id uuid := gen_random_uuid();
BEGIN
  BEGIN
    PERFORM set_config('realtime.topic', topic, true);
    INSERT INTO realtime.messages (id, payload, event, topic, private, extension)
    VALUES (new_id, CASE WHEN payload ? 'id' THEN payload ELSE jsonb_set(payload, '{id}', to_jsonb(new_id)) END,
            event, topic, private, 'broadcast');
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'ErrorSendingBroadcastMessage: %', SQLERRM;
  END;
END
$$;
CREATE FUNCTION realtime.broadcast_changes(topic_name text, event_name text, operation text, table_name text,
                                           table_schema text, new record, old record, level text DEFAULT 'ROW')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF level = 'STATEMENT' THEN
    RAISE EXCEPTION 'function can only be triggered for each row, not for each statement';
  END IF;
  IF operation NOT IN ('INSERT', 'UPDATE', 'DELETE') THEN
    RAISE EXCEPTION 'Unexpected operation type: %', operation;
  END IF;
  PERFORM realtime.send(jsonb_build_object('old_record', old, 'record', new, 'operation', operation,
                                           'table', table_name, 'schema', table_schema), event_name, topic_name);
END
$$;
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE realtime.messages OWNER TO supabase_realtime_admin;
ALTER FUNCTION realtime.topic() OWNER TO supabase_realtime_admin;
GRANT USAGE ON SCHEMA realtime TO postgres, supabase_realtime_admin;
GRANT CREATE ON SCHEMA realtime TO supabase_realtime_admin;
GRANT ALL ON ALL TABLES IN SCHEMA realtime TO supabase_realtime_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA realtime TO supabase_realtime_admin;
GRANT ALL ON ALL FUNCTIONS IN SCHEMA realtime TO supabase_realtime_admin;
GRANT SELECT ON realtime.subscription, realtime.schema_migrations TO anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE ON realtime.messages TO postgres, anon, authenticated, service_role;
GRANT DELETE, TRUNCATE, REFERENCES, TRIGGER ON realtime.messages TO postgres;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA realtime TO anon, authenticated, service_role;

-- The publication Realtime's Postgres Changes reads; migrations add tables to it.
CREATE PUBLICATION supabase_realtime;

-- Database Webhooks: triggers call supabase_functions.http_request(url, method,
-- headers, params, timeout), which hands the row to pg_net.
CREATE TABLE supabase_functions.migrations (version text PRIMARY KEY, inserted_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE supabase_functions.hooks (
  id bigserial PRIMARY KEY,
  hook_table_id integer NOT NULL,
  hook_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  request_id bigint
);
CREATE INDEX supabase_functions_hooks_request_id_idx ON supabase_functions.hooks (request_id);
CREATE INDEX supabase_functions_hooks_h_table_id_h_name_idx ON supabase_functions.hooks (hook_table_id, hook_name);
CREATE FUNCTION supabase_functions.http_request() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = supabase_functions AS $$
DECLARE
  request_id bigint;
  payload jsonb;
  url text := TG_ARGV[0]::text;
  method text := TG_ARGV[1]::text;
  headers jsonb := coalesce(TG_ARGV[2]::jsonb, '{}');
  params jsonb := coalesce(TG_ARGV[3]::jsonb, '{}');
  timeout_ms integer := coalesce(TG_ARGV[4]::integer, 1000);
BEGIN
  IF url IS NULL OR url = 'null' THEN
    RAISE EXCEPTION 'url argument is missing';
  END IF;
  IF method IS NULL OR method = 'null' THEN
    RAISE EXCEPTION 'method argument is missing';
  END IF;
  IF method = 'GET' THEN
    SELECT net.http_get(url, params, headers, timeout_ms) INTO request_id;
  ELSIF method = 'POST' THEN
    payload := jsonb_build_object('old_record', OLD, 'record', NEW, 'type', TG_OP, 'table', TG_TABLE_NAME,
                                  'schema', TG_TABLE_SCHEMA);
    SELECT net.http_post(url, payload, params, headers, timeout_ms) INTO request_id;
  ELSE
    RAISE EXCEPTION 'method argument % is invalid', method;
  END IF;
  INSERT INTO supabase_functions.hooks (hook_table_id, hook_name, request_id) VALUES (TG_RELID, TG_NAME, request_id);
  RETURN NEW;
END
$$;
ALTER TABLE supabase_functions.migrations OWNER TO supabase_functions_admin;
ALTER TABLE supabase_functions.hooks OWNER TO supabase_functions_admin;
ALTER FUNCTION supabase_functions.http_request() OWNER TO supabase_functions_admin;
GRANT ALL ON ALL TABLES IN SCHEMA supabase_functions TO postgres, anon, authenticated, service_role;
GRANT ALL ON ALL SEQUENCES IN SCHEMA supabase_functions TO postgres, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION supabase_functions.http_request() TO postgres, anon, authenticated, service_role;

-- What Supabase gives its API roles in `public`: every new table, sequence and
-- function, so that RLS, not a missing grant, decides what a role sees.
GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated, service_role;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO anon, authenticated, service_role;
GRANT ALL ON ALL FUNCTIONS IN SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
GRANT ALL ON ALL FUNCTIONS IN SCHEMA extensions TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA extensions GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;

COMMIT;
