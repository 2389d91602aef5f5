-- Stand-ins for the extensions Supabase has that a PostgreSQL installation may
-- lack: SQL and PL/pgSQL objects with the real names and signatures. Each
-- section is one extension; its header says where Supabase keeps it and what
-- the stand-in cannot do. `@extschema@` is the schema it is created in and
-- `@extschema:pgcrypto@` pgcrypto's, as in an extension script.
--
-- src/local/prepare.rs uses them two ways: on PostgreSQL 18 and later it
-- writes each as a real SQL-only extension (NAME.control, NAME--stand-in.sql)
-- into the local database's own folder, which `extension_control_path` lists
-- after the installation's; everywhere, prepare.sql's pg_temp.extension() creates
-- the objects and registers them in pg_extension when no extension of that name
-- is available, so that `CREATE EXTENSION IF NOT EXISTS` succeeds.

-- stand-in: pgcrypto
-- where: Supabase: preinstalled in `extensions`. A contrib module; some builds lack it.
-- schema: extensions
-- fixed schema: no
-- preinstalled: yes
-- requires: 
-- lacks: digest/hmac (md5, sha1, sha224-512), gen_random_bytes/gen_random_uuid and gen_salt/crypt only; crypt() is NOT bcrypt/md5-crypt: its hashes match only this stand-in's crypt(); no pgp_*, encrypt/decrypt, armor
CREATE FUNCTION @extschema@._local_sha1(data bytea) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  m constant bigint := 4294967295;
  h bigint[] := ARRAY[1732584193, 4023233417, 2562383102, 271733878, 3285377520]::bigint[];
  msg bytea := data || '\x80'::bytea;
  w bigint[];
  a bigint; b bigint; c bigint; d bigint; e bigint; f bigint; k bigint; t bigint;
  o int;
BEGIN
  WHILE length(msg) % 64 <> 56 LOOP
    msg := msg || '\x00'::bytea;
  END LOOP;
  msg := msg || int8send(length(data)::bigint * 8);
  FOR chunk IN 0 .. length(msg) / 64 - 1 LOOP
    w := array_fill(0::bigint, ARRAY[80]);
    FOR i IN 0 .. 15 LOOP
      o := chunk * 64 + i * 4;
      w[i + 1] := (get_byte(msg, o)::bigint << 24) | (get_byte(msg, o + 1)::bigint << 16)
                | (get_byte(msg, o + 2)::bigint << 8) | get_byte(msg, o + 3)::bigint;
    END LOOP;
    FOR i IN 16 .. 79 LOOP
      t := w[i - 2] # w[i - 7] # w[i - 13] # w[i - 15];
      w[i + 1] := ((t << 1) | (t >> 31)) & m;
    END LOOP;
    a := h[1]; b := h[2]; c := h[3]; d := h[4]; e := h[5];
    FOR i IN 0 .. 79 LOOP
      IF i < 20 THEN f := (b & c) | ((~b & m) & d); k := 1518500249;
      ELSIF i < 40 THEN f := b # c # d; k := 1859775393;
      ELSIF i < 60 THEN f := (b & c) | (b & d) | (c & d); k := 2400959708;
      ELSE f := b # c # d; k := 3395469782;
      END IF;
      t := ((((a << 5) | (a >> 27)) & m) + f + e + k + w[i + 1]) & m;
      e := d; d := c; c := ((b << 30) | (b >> 2)) & m; b := a; a := t;
    END LOOP;
    h[1] := (h[1] + a) & m; h[2] := (h[2] + b) & m; h[3] := (h[3] + c) & m;
    h[4] := (h[4] + d) & m; h[5] := (h[5] + e) & m;
  END LOOP;
  RETURN substring(int8send(h[1]) FROM 5) || substring(int8send(h[2]) FROM 5) || substring(int8send(h[3]) FROM 5)
      || substring(int8send(h[4]) FROM 5) || substring(int8send(h[5]) FROM 5);
END
$$;
CREATE FUNCTION @extschema@.digest(bytea, text) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  CASE lower($2)
    WHEN 'md5' THEN RETURN decode(md5($1), 'hex');
    WHEN 'sha1' THEN RETURN @extschema@._local_sha1($1);
    WHEN 'sha224' THEN RETURN sha224($1);
    WHEN 'sha256' THEN RETURN sha256($1);
    WHEN 'sha384' THEN RETURN sha384($1);
    WHEN 'sha512' THEN RETURN sha512($1);
    ELSE RAISE EXCEPTION 'Cannot use "%": No such hash algorithm', $2 USING ERRCODE = '22023';
  END CASE;
END
$$;
CREATE FUNCTION @extschema@.digest(text, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.digest(convert_to($1, 'UTF8'), $2)
$$;
CREATE FUNCTION @extschema@.hmac(bytea, bytea, text) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  block int := CASE WHEN lower($3) IN ('sha384', 'sha512') THEN 128 ELSE 64 END;
  key bytea := $2;
  inner_pad bytea;
  outer_pad bytea;
BEGIN
  IF length(key) > block THEN
    key := @extschema@.digest(key, $3);
  END IF;
  key := key || decode(repeat('00', block - length(key)), 'hex');
  inner_pad := key;
  outer_pad := key;
  FOR i IN 0 .. block - 1 LOOP
    inner_pad := set_byte(inner_pad, i, get_byte(key, i) # 54);
    outer_pad := set_byte(outer_pad, i, get_byte(key, i) # 92);
  END LOOP;
  RETURN @extschema@.digest(outer_pad || @extschema@.digest(inner_pad || $1, $3), $3);
END
$$;
CREATE FUNCTION @extschema@.hmac(text, text, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.hmac(convert_to($1, 'UTF8'), convert_to($2, 'UTF8'), $3)
$$;
-- The random bits of version-4 UUIDs (PostgreSQL's strong random source):
-- 14 of each UUID's 16 bytes carry no version or variant bits.
CREATE FUNCTION @extschema@.gen_random_bytes(integer) RETURNS bytea LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE AS $$
DECLARE
  out bytea := ''::bytea;
  u bytea;
BEGIN
  IF $1 < 1 OR $1 > 1024 THEN
    RAISE EXCEPTION 'Length not in range' USING ERRCODE = '22023';
  END IF;
  WHILE length(out) < $1 LOOP
    u := uuid_send(gen_random_uuid());
    out := out || substring(u FROM 1 FOR 6) || substring(u FROM 8 FOR 1) || substring(u FROM 10 FOR 7);
  END LOOP;
  RETURN substring(out FROM 1 FOR $1);
END
$$;
CREATE FUNCTION @extschema@.gen_random_uuid() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT pg_catalog.gen_random_uuid()
$$;
CREATE FUNCTION @extschema@._local_salt_chars(integer) RETURNS text LANGUAGE sql VOLATILE STRICT AS $$
  SELECT substring(translate(encode(@extschema@.gen_random_bytes($1), 'base64'), E'+=\n', '.') FROM 1 FOR $1)
$$;
CREATE FUNCTION @extschema@.gen_salt(text, integer) RETURNS text LANGUAGE plpgsql VOLATILE STRICT AS $$
BEGIN
  CASE lower($1)
    WHEN 'bf' THEN
      IF $2 < 4 OR $2 > 31 THEN RAISE EXCEPTION 'gen_salt: Incorrect number of rounds' USING ERRCODE = '22023'; END IF;
      RETURN '$2a$' || lpad($2::text, 2, '0') || '$' || @extschema@._local_salt_chars(22);
    WHEN 'md5' THEN RETURN '$1$' || @extschema@._local_salt_chars(8);
    WHEN 'xdes' THEN RETURN '_' || @extschema@._local_salt_chars(8);
    WHEN 'des' THEN RETURN @extschema@._local_salt_chars(2);
    ELSE RAISE EXCEPTION 'gen_salt: Unknown salt algorithm' USING ERRCODE = '22023';
  END CASE;
END
$$;
CREATE FUNCTION @extschema@.gen_salt(text) RETURNS text LANGUAGE sql VOLATILE STRICT AS $$
  SELECT @extschema@.gen_salt($1, CASE lower($1) WHEN 'bf' THEN 6 ELSE 0 END)
$$;
-- Same shape as the real hash (so length checks hold) and deterministic, so
-- crypt(password, stored) = stored works; not verifiable by real bcrypt.
CREATE FUNCTION @extschema@.crypt(text, text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  setting text;
  hash text;
  len int;
BEGIN
  IF $2 ~ '^\$2[abxy]?\$[0-9]{2}\$' THEN
    setting := substring($2 FROM 1 FOR 29); len := 31;
  ELSIF $2 LIKE '$1$%' THEN
    setting := '$1$' || split_part($2, '$', 3) || '$'; len := 22;
  ELSIF $2 LIKE '\_%' THEN
    setting := substring($2 FROM 1 FOR 9); len := 11;
  ELSE
    setting := substring($2 FROM 1 FOR 2); len := 11;
  END IF;
  hash := translate(encode(sha256(convert_to(setting || $1, 'UTF8')), 'base64'), E'+=\n', '.');
  RETURN setting || substring(hash FROM 1 FOR len);
END
$$;

-- stand-in: uuid-ossp
-- where: Supabase: preinstalled in `extensions`. A contrib module; some builds lack it.
-- schema: extensions
-- fixed schema: no
-- preinstalled: yes
-- requires: pgcrypto
-- lacks: uuid_generate_v1/v1mc use a random node, not the MAC address; the rest as the real one
CREATE FUNCTION @extschema@.uuid_nil() RETURNS uuid LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT '00000000-0000-0000-0000-000000000000'::uuid
$$;
CREATE FUNCTION @extschema@.uuid_ns_dns() RETURNS uuid LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid
$$;
CREATE FUNCTION @extschema@.uuid_ns_url() RETURNS uuid LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT '6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid
$$;
CREATE FUNCTION @extschema@.uuid_ns_oid() RETURNS uuid LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT '6ba7b812-9dad-11d1-80b4-00c04fd430c8'::uuid
$$;
CREATE FUNCTION @extschema@.uuid_ns_x500() RETURNS uuid LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT '6ba7b814-9dad-11d1-80b4-00c04fd430c8'::uuid
$$;
CREATE FUNCTION @extschema@.uuid_generate_v4() RETURNS uuid LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.gen_random_uuid()
$$;
-- Name-based UUIDs: the hash of namespace and name, with version and variant bits set.
CREATE FUNCTION @extschema@._local_uuid_from_hash(hash bytea, version int) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT encode(set_byte(set_byte(substring(hash FROM 1 FOR 16), 6, (get_byte(hash, 6) & 15) | (version << 4)),
                8, (get_byte(hash, 8) & 63) | 128), 'hex')::uuid
$$;
CREATE FUNCTION @extschema@.uuid_generate_v3(namespace uuid, name text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@._local_uuid_from_hash(decode(md5(uuid_send(namespace) || convert_to(name, 'UTF8')), 'hex'), 3)
$$;
CREATE FUNCTION @extschema@.uuid_generate_v5(namespace uuid, name text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@._local_uuid_from_hash(@extschema:pgcrypto@.digest(uuid_send(namespace) || convert_to(name, 'UTF8'), 'sha1'), 5)
$$;
-- Time-based: 100 ns ticks since 1582-10-15, a random clock sequence, and a
-- random node with the multicast bit set (RFC 4122's rule for a node that is no MAC).
CREATE FUNCTION @extschema@.uuid_generate_v1mc() RETURNS uuid LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE AS $$
DECLARE
  ticks bigint := (extract(epoch FROM clock_timestamp()) * 10000000)::bigint + 122192928000000000;
  rnd bytea := uuid_send(pg_catalog.gen_random_uuid());
BEGIN
  RETURN (lpad(to_hex(ticks & 4294967295), 8, '0') || lpad(to_hex((ticks >> 32) & 65535), 4, '0')
       || lpad(to_hex(((ticks >> 48) & 4095) | 4096), 4, '0')
       || lpad(to_hex(((get_byte(rnd, 0) << 8 | get_byte(rnd, 1)) & 16383) | 32768), 4, '0')
       || encode(set_byte(substring(rnd FROM 10 FOR 6), 0, get_byte(rnd, 9) | 1), 'hex'))::uuid;
END
$$;
CREATE FUNCTION @extschema@.uuid_generate_v1() RETURNS uuid LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.uuid_generate_v1mc()
$$;

-- stand-in: pg_stat_statements
-- where: Supabase: preinstalled in `extensions` (and preloaded).
-- schema: extensions
-- fixed schema: no
-- preinstalled: yes
-- requires: 
-- lacks: no statistics: the view is always empty
CREATE FUNCTION @extschema@.pg_stat_statements_reset(userid oid DEFAULT 0, dbid oid DEFAULT 0, queryid bigint DEFAULT 0)
RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE VIEW @extschema@.pg_stat_statements AS
  SELECT NULL::oid AS userid, NULL::oid AS dbid, NULL::boolean AS toplevel, NULL::bigint AS queryid, NULL::text AS query,
         NULL::bigint AS calls, NULL::double precision AS total_exec_time, NULL::double precision AS mean_exec_time,
         NULL::bigint AS rows
  WHERE false;

-- stand-in: pgjwt
-- where: Supabase: preinstalled in `extensions` on PostgreSQL 15 projects.
-- schema: extensions
-- fixed schema: no
-- preinstalled: yes
-- requires: pgcrypto
-- lacks: nothing known (HS256/HS384/HS512 sign and verify in SQL over pgcrypto's hmac, as the real one)
CREATE FUNCTION @extschema@.url_encode(data bytea) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT translate(encode(data, 'base64'), E'+/=\n', '-_')
$$;
CREATE FUNCTION @extschema@.url_decode(data text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT decode(rpad(translate(data, '-_', '+/'), length(data) + (4 - length(data) % 4) % 4, '='), 'base64')
$$;
CREATE FUNCTION @extschema@.algorithm_sign(signables text, secret text, algorithm text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.url_encode(@extschema:pgcrypto@.hmac(signables, secret,
    CASE algorithm WHEN 'HS256' THEN 'sha256' WHEN 'HS384' THEN 'sha384' WHEN 'HS512' THEN 'sha512' ELSE '' END))
$$;
CREATE FUNCTION @extschema@.sign(payload json, secret text, algorithm text DEFAULT 'HS256') RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  WITH parts AS (
    SELECT @extschema@.url_encode(convert_to(json_build_object('alg', algorithm, 'typ', 'JWT')::text, 'utf8'))
           || '.' || @extschema@.url_encode(convert_to(payload::text, 'utf8')) AS signables
  )
  SELECT signables || '.' || @extschema@.algorithm_sign(signables, secret, algorithm) FROM parts
$$;
CREATE FUNCTION @extschema@.try_cast_double(inp text) RETURNS double precision LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN inp::double precision;
EXCEPTION WHEN OTHERS THEN
  RETURN NULL;
END
$$;
CREATE FUNCTION @extschema@.verify(token text, secret text, algorithm text DEFAULT 'HS256')
RETURNS TABLE (header json, payload json, valid boolean) LANGUAGE sql IMMUTABLE AS $$
  SELECT convert_from(@extschema@.url_decode(r[1]), 'utf8')::json,
         convert_from(@extschema@.url_decode(r[2]), 'utf8')::json,
         r[3] = @extschema@.algorithm_sign(r[1] || '.' || r[2], secret, algorithm)
           AND coalesce(to_timestamp(@extschema@.try_cast_double(convert_from(@extschema@.url_decode(r[2]), 'utf8')::json ->> 'exp'))
                        > now(), true)
           AND coalesce(to_timestamp(@extschema@.try_cast_double(convert_from(@extschema@.url_decode(r[2]), 'utf8')::json ->> 'nbf'))
                        <= now(), true)
  FROM regexp_split_to_array(token, '\.') r
$$;

-- stand-in: pg_graphql
-- where: Supabase: preinstalled in `graphql`.
-- schema: graphql
-- fixed schema: yes
-- preinstalled: yes
-- requires: 
-- lacks: no GraphQL: graphql.resolve() answers every query with an error
CREATE FUNCTION graphql.resolve(query text, variables jsonb DEFAULT '{}', "operationName" text DEFAULT NULL,
                                extensions jsonb DEFAULT NULL) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('data', NULL, 'errors', jsonb_build_array(jsonb_build_object(
    'message', 'pg_graphql is a stand-in on the cargo-migrate local database: no GraphQL here')))
$$;

-- stand-in: pgsodium
-- where: Supabase: preinstalled in `pgsodium` on older projects (deprecated).
-- schema: pgsodium
-- fixed schema: yes
-- preinstalled: yes
-- requires: 
-- lacks: the schema and its roles only: no libsodium functions, keys or transparent column encryption
CREATE TABLE pgsodium.key (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  status text DEFAULT 'valid',
  created timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires timestamptz,
  key_type text,
  key_id bigint,
  key_context bytea DEFAULT '\x7067736f6469756d'::bytea,
  name text UNIQUE,
  associated_data text DEFAULT 'associated',
  raw_key bytea,
  raw_key_nonce bytea,
  parent_key uuid REFERENCES pgsodium.key (id),
  comment text,
  user_data text
);

-- stand-in: supabase_vault
-- where: Supabase: preinstalled in `vault`.
-- schema: vault
-- fixed schema: yes
-- preinstalled: yes
-- requires: 
-- lacks: secrets are stored base64-encoded, NOT encrypted; same tables, view and functions
CREATE TABLE vault.secrets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text,
  description text NOT NULL DEFAULT '',
  secret text NOT NULL,
  key_id uuid,
  nonce bytea DEFAULT uuid_send(gen_random_uuid()),
  created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
COMMENT ON TABLE vault.secrets IS 'Table with encrypted `secret` column for storing sensitive information on disk (local stand-in: base64, not encrypted).';
CREATE UNIQUE INDEX secrets_name_idx ON vault.secrets (name) WHERE name IS NOT NULL;
CREATE VIEW vault.decrypted_secrets AS
  SELECT s.id, s.name, s.description, s.secret,
         convert_from(decode(s.secret, 'base64'), 'utf8') AS decrypted_secret,
         s.key_id, s.nonce, s.created_at, s.updated_at
    FROM vault.secrets s;
CREATE FUNCTION vault.create_secret(new_secret text, new_name text DEFAULT NULL, new_description text DEFAULT '',
                                    new_key_id uuid DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  new_id uuid;
BEGIN
  INSERT INTO vault.secrets (secret, name, description)
  VALUES (encode(convert_to(new_secret, 'utf8'), 'base64'), new_name, new_description)
  RETURNING id INTO new_id;
  RETURN new_id;
END
$$;
CREATE FUNCTION vault.update_secret(secret_id uuid, new_secret text DEFAULT NULL, new_name text DEFAULT NULL,
                                    new_description text DEFAULT NULL, new_key_id uuid DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  UPDATE vault.secrets s
     SET secret = CASE WHEN new_secret IS NULL THEN s.secret ELSE encode(convert_to(new_secret, 'utf8'), 'base64') END,
         name = coalesce(new_name, s.name),
         description = coalesce(new_description, s.description),
         updated_at = now()
   WHERE s.id = secret_id;
END
$$;
REVOKE ALL ON FUNCTION vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid)
  TO postgres, service_role;
GRANT SELECT, DELETE ON vault.secrets, vault.decrypted_secrets TO postgres, service_role;

-- stand-in: pg_net
-- where: Supabase: available, usually enabled in `extensions`; its API is in `net`.
-- schema: extensions
-- fixed schema: no
-- preinstalled: no
-- requires: 
-- lacks: requests are queued in net.http_request_queue and never sent; no responses arrive in net._http_response
CREATE SCHEMA net;
CREATE DOMAIN net.http_method AS text CHECK (value ILIKE 'get' OR value ILIKE 'post' OR value ILIKE 'delete');
CREATE TABLE net.http_request_queue (
  id bigserial,
  method net.http_method NOT NULL,
  url text NOT NULL,
  headers jsonb NOT NULL,
  body bytea,
  timeout_milliseconds integer NOT NULL
);
CREATE TABLE net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz NOT NULL DEFAULT now()
);
CREATE TYPE net.request_status AS ENUM ('PENDING', 'SUCCESS', 'ERROR');
CREATE TYPE net.http_response AS (status_code integer, headers jsonb, body text);
CREATE TYPE net.http_response_result AS (status net.request_status, message text, response net.http_response);
CREATE FUNCTION net._local_queue(method text, url text, params jsonb, headers jsonb, body bytea, timeout_milliseconds integer)
RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  SELECT method,
         url || coalesce((SELECT CASE WHEN url LIKE '%?%' THEN '&' ELSE '?' END
                                 || string_agg(key || '=' || value, '&')
                            FROM jsonb_each_text(params)), ''),
         coalesce(headers, '{}'), body, timeout_milliseconds
  RETURNING id
$$;
CREATE FUNCTION net.http_get(url text, params jsonb DEFAULT '{}', headers jsonb DEFAULT '{}',
                             timeout_milliseconds integer DEFAULT 5000)
RETURNS bigint LANGUAGE sql STRICT AS $$
  SELECT net._local_queue('GET', url, params, headers, NULL, timeout_milliseconds)
$$;
CREATE FUNCTION net.http_post(url text, body jsonb DEFAULT '{}', params jsonb DEFAULT '{}',
                              headers jsonb DEFAULT '{"Content-Type": "application/json"}',
                              timeout_milliseconds integer DEFAULT 5000)
RETURNS bigint LANGUAGE sql AS $$
  SELECT net._local_queue('POST', url, params, headers, convert_to(body::text, 'UTF8'), timeout_milliseconds)
$$;
CREATE FUNCTION net.http_delete(url text, params jsonb DEFAULT '{}', headers jsonb DEFAULT '{}',
                                timeout_milliseconds integer DEFAULT 5000, body jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE sql AS $$
  SELECT net._local_queue('DELETE', url, params, headers, convert_to(body::text, 'UTF8'), timeout_milliseconds)
$$;
CREATE FUNCTION net.http_collect_response(request_id bigint, async boolean DEFAULT true)
RETURNS net.http_response_result LANGUAGE sql STRICT AS $$
  SELECT ('PENDING', 'the cargo-migrate local pg_net stand-in sends no requests', NULL)::net.http_response_result
$$;
GRANT USAGE ON SCHEMA net TO postgres, anon, authenticated, service_role, supabase_functions_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA net TO postgres, anon, authenticated, service_role, supabase_functions_admin;
GRANT ALL ON ALL TABLES IN SCHEMA net TO postgres, supabase_functions_admin;
GRANT ALL ON ALL SEQUENCES IN SCHEMA net TO postgres, anon, authenticated, service_role, supabase_functions_admin;

-- stand-in: pg_cron
-- where: Supabase: available; dumps say WITH SCHEMA "pg_catalog"; its API is in `cron`.
-- schema: pg_catalog
-- fixed schema: yes
-- preinstalled: no
-- requires: 
-- lacks: jobs are recorded in cron.job and never run; cron.job_run_details stays empty
CREATE SCHEMA cron;
CREATE TABLE cron.job (
  jobid bigserial PRIMARY KEY,
  schedule text NOT NULL,
  command text NOT NULL,
  nodename text NOT NULL DEFAULT 'localhost',
  nodeport integer NOT NULL DEFAULT current_setting('port')::integer,
  database text NOT NULL DEFAULT current_database(),
  username text NOT NULL DEFAULT current_user,
  active boolean NOT NULL DEFAULT true,
  jobname text
);
CREATE UNIQUE INDEX jobname_username_uniq ON cron.job (jobname, username);
CREATE TABLE cron.job_run_details (
  jobid bigint,
  runid bigserial PRIMARY KEY,
  job_pid integer,
  database text,
  username text,
  command text,
  status text,
  return_message text,
  start_time timestamptz,
  end_time timestamptz
);
CREATE FUNCTION cron.schedule(job_name text, schedule text, command text) RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO cron.job (jobname, schedule, command) VALUES (job_name, schedule, command)
  ON CONFLICT (jobname, username) DO UPDATE SET schedule = EXCLUDED.schedule, command = EXCLUDED.command
  RETURNING jobid
$$;
CREATE FUNCTION cron.schedule(schedule text, command text) RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO cron.job (schedule, command) VALUES (schedule, command) RETURNING jobid
$$;
CREATE FUNCTION cron.schedule_in_database(job_name text, schedule text, command text, database text,
                                          username text DEFAULT NULL, active boolean DEFAULT true)
RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO cron.job (jobname, schedule, command, database, username, active)
  VALUES (job_name, schedule, command, database, coalesce(username, current_user), active)
  ON CONFLICT (jobname, username) DO UPDATE SET schedule = EXCLUDED.schedule, command = EXCLUDED.command,
    database = EXCLUDED.database, active = EXCLUDED.active
  RETURNING jobid
$$;
CREATE FUNCTION cron.unschedule(job_id bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM cron.job WHERE jobid = job_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for job %', job_id;
  END IF;
  RETURN true;
END
$$;
CREATE FUNCTION cron.unschedule(job_name text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM cron.job WHERE jobname = job_name AND username = current_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for job %', quote_literal(job_name);
  END IF;
  RETURN true;
END
$$;
CREATE FUNCTION cron.alter_job(job_id bigint, schedule text DEFAULT NULL, command text DEFAULT NULL,
                               database text DEFAULT NULL, username text DEFAULT NULL, active boolean DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
  UPDATE cron.job j
     SET schedule = coalesce(alter_job.schedule, j.schedule), command = coalesce(alter_job.command, j.command),
         database = coalesce(alter_job.database, j.database), username = coalesce(alter_job.username, j.username),
         active = coalesce(alter_job.active, j.active)
   WHERE j.jobid = job_id
$$;
GRANT USAGE ON SCHEMA cron TO postgres;
GRANT ALL ON ALL TABLES IN SCHEMA cron TO postgres;
GRANT ALL ON ALL SEQUENCES IN SCHEMA cron TO postgres;

-- stand-in: http
-- where: pgsql-http. Supabase: available in `extensions`.
-- schema: extensions
-- fixed schema: no
-- preinstalled: no
-- requires: 
-- lacks: makes no HTTP requests: http() and http_get/post/put/patch/delete/head raise an error; the types and helpers work
CREATE DOMAIN @extschema@.http_method AS text;
CREATE DOMAIN @extschema@.content_type AS text CHECK (value ~ '^\S+\/\S+');
CREATE TYPE @extschema@.http_header AS (field character varying, value character varying);
CREATE TYPE @extschema@.http_request AS (method @extschema@.http_method, uri character varying,
  headers @extschema@.http_header[], content_type character varying, content character varying);
CREATE TYPE @extschema@.http_response AS (status integer, content_type character varying,
  headers @extschema@.http_header[], content character varying);
CREATE FUNCTION @extschema@.http(request @extschema@.http_request) RETURNS @extschema@.http_response
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'http: the cargo-migrate local database makes no HTTP requests (the http extension is a stand-in here): % %',
    request.method, request.uri USING ERRCODE = '0A000';
END
$$;
CREATE FUNCTION @extschema@.http_header(field character varying, value character varying) RETURNS @extschema@.http_header
LANGUAGE sql IMMUTABLE AS $$ SELECT ROW(field, value)::@extschema@.http_header $$;
CREATE FUNCTION @extschema@.http_get(uri character varying) RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(('GET', uri, NULL, NULL, NULL)::@extschema@.http_request)
$$;
CREATE FUNCTION @extschema@.http_get(uri character varying, data jsonb) RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(('GET', uri, NULL, NULL, NULL)::@extschema@.http_request)
$$;
CREATE FUNCTION @extschema@.http_post(uri character varying, content character varying, content_type character varying)
RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(('POST', uri, NULL, content_type, content)::@extschema@.http_request)
$$;
CREATE FUNCTION @extschema@.http_post(uri character varying, data jsonb) RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(('POST', uri, NULL, 'application/x-www-form-urlencoded', NULL)::@extschema@.http_request)
$$;
CREATE FUNCTION @extschema@.http_put(uri character varying, content character varying, content_type character varying)
RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(('PUT', uri, NULL, content_type, content)::@extschema@.http_request)
$$;
CREATE FUNCTION @extschema@.http_patch(uri character varying, content character varying, content_type character varying)
RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(('PATCH', uri, NULL, content_type, content)::@extschema@.http_request)
$$;
CREATE FUNCTION @extschema@.http_delete(uri character varying) RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(('DELETE', uri, NULL, NULL, NULL)::@extschema@.http_request)
$$;
CREATE FUNCTION @extschema@.http_delete(uri character varying, content character varying, content_type character varying)
RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(('DELETE', uri, NULL, content_type, content)::@extschema@.http_request)
$$;
CREATE FUNCTION @extschema@.http_head(uri character varying) RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(('HEAD', uri, NULL, NULL, NULL)::@extschema@.http_request)
$$;
CREATE FUNCTION @extschema@.urlencode(string bytea) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT string_agg(CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122 OR b IN (45, 46, 95, 126)
                         THEN chr(b) ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END, '' ORDER BY i)
    FROM (SELECT i, get_byte(string, i) AS b FROM generate_series(0, length(string) - 1) i) s
$$;
CREATE FUNCTION @extschema@.urlencode(string character varying) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT coalesce(@extschema@.urlencode(convert_to(string, 'UTF8')), '')
$$;
CREATE FUNCTION @extschema@.urlencode(data jsonb) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT string_agg(@extschema@.urlencode(key::character varying) || '=' || @extschema@.urlencode(value::character varying), '&')
    FROM jsonb_each_text(data)
$$;
CREATE FUNCTION @extschema@.text_to_bytea(data text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT convert_to(data, 'UTF8')
$$;
CREATE FUNCTION @extschema@.bytea_to_text(data bytea) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT convert_from(data, 'UTF8')
$$;
CREATE FUNCTION @extschema@.http_set_curlopt(curlopt character varying, value character varying) RETURNS boolean
LANGUAGE sql AS $$ SELECT true $$;
CREATE FUNCTION @extschema@.http_reset_curlopt() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE FUNCTION @extschema@.http_list_curlopt() RETURNS TABLE (curlopt text, value text) LANGUAGE sql AS $$
  SELECT NULL::text, NULL::text WHERE false
$$;

-- stand-in: pgmq
-- where: Supabase: available (Queues), in `pgmq`; SQL-only, so this is a working copy of its API.
-- schema: pgmq
-- fixed schema: yes
-- preinstalled: no
-- requires: 
-- lacks: no partitioned queues (create_partitioned needs pg_partman; no convert_archive_partitioned, detach_archive); create, send, send_batch, read, read_with_poll, pop, set_vt, archive, delete, purge_queue, drop_queue, list_queues, metrics work as the real ones
CREATE TABLE pgmq.meta (
  queue_name varchar UNIQUE NOT NULL,
  is_partitioned boolean NOT NULL,
  is_unlogged boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TYPE pgmq.message_record AS (
  msg_id bigint, read_ct integer, enqueued_at timestamptz, vt timestamptz, message jsonb, headers jsonb
);
CREATE TYPE pgmq.queue_record AS (
  queue_name varchar, is_partitioned boolean, is_unlogged boolean, created_at timestamptz
);
CREATE TYPE pgmq.metrics_result AS (
  queue_name text, queue_length bigint, newest_msg_age_sec int, oldest_msg_age_sec int, total_messages bigint,
  scrape_time timestamptz, queue_visible_length bigint
);
-- A queue's tables are pgmq.q_<name> and pgmq.a_<name> (its archive), in lower case.
CREATE FUNCTION pgmq.format_table_name(queue_name text, prefix text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  IF queue_name ~ '\$|;|--|''' THEN
    RAISE EXCEPTION 'queue name contains invalid characters: $, ;, --, or \''';
  END IF;
  RETURN lower(prefix || '_' || queue_name);
END
$$;
CREATE FUNCTION pgmq.validate_queue_name(queue_name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF length(queue_name) > 47 THEN
    RAISE EXCEPTION 'queue name is too long, maximum length is 47 characters';
  END IF;
END
$$;
CREATE FUNCTION pgmq._create(queue_name text, unlogged boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  q text := pgmq.format_table_name(queue_name, 'q');
  a text := pgmq.format_table_name(queue_name, 'a');
  kind text := CASE WHEN unlogged THEN 'UNLOGGED ' ELSE '' END;
BEGIN
  PERFORM pgmq.validate_queue_name(queue_name);
  PERFORM pg_advisory_xact_lock(hashtext('pgmq.queue_' || queue_name));
  EXECUTE format('CREATE %sTABLE IF NOT EXISTS pgmq.%I (msg_id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, '
    'read_ct int NOT NULL DEFAULT 0, enqueued_at timestamptz NOT NULL DEFAULT now(), vt timestamptz NOT NULL, '
    'message jsonb, headers jsonb)', kind, q);
  EXECUTE format('CREATE TABLE IF NOT EXISTS pgmq.%I (msg_id bigint PRIMARY KEY, read_ct int NOT NULL DEFAULT 0, '
    'enqueued_at timestamptz NOT NULL DEFAULT now(), archived_at timestamptz NOT NULL DEFAULT now(), '
    'vt timestamptz NOT NULL, message jsonb, headers jsonb)', a);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (vt ASC)', q || '_vt_idx', q);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (archived_at)', 'archived_at_idx_' || queue_name, a);
  INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged) VALUES (queue_name, false, unlogged)
    ON CONFLICT DO NOTHING;
END
$$;
CREATE FUNCTION pgmq.create_non_partitioned(queue_name text) RETURNS void LANGUAGE sql AS $$
  SELECT pgmq._create(queue_name, false)
$$;
CREATE FUNCTION pgmq.create_unlogged(queue_name text) RETURNS void LANGUAGE sql AS $$
  SELECT pgmq._create(queue_name, true)
$$;
CREATE FUNCTION pgmq."create"(queue_name text) RETURNS void LANGUAGE sql AS $$
  SELECT pgmq._create(queue_name, false)
$$;
CREATE FUNCTION pgmq.create_partitioned(queue_name text, partition_interval text DEFAULT '10000',
    retention_interval text DEFAULT '100000') RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'pgmq.create_partitioned needs pg_partman, which the local stand-in of pgmq does not use'
    USING HINT = 'use pgmq.create() locally, or a PostgreSQL with the real pgmq and pg_partman';
END
$$;
CREATE FUNCTION pgmq.drop_queue(queue_name text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('pgmq.queue_' || queue_name));
  IF to_regclass('pgmq.' || quote_ident(pgmq.format_table_name(queue_name, 'q'))) IS NULL THEN
    RAISE NOTICE 'pgmq queue `%` does not exist', queue_name;
    RETURN false;
  END IF;
  EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', pgmq.format_table_name(queue_name, 'q'));
  EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', pgmq.format_table_name(queue_name, 'a'));
  DELETE FROM pgmq.meta m WHERE m.queue_name = drop_queue.queue_name;
  RETURN true;
END
$$;
CREATE FUNCTION pgmq.purge_queue(queue_name text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE format('WITH gone AS (DELETE FROM pgmq.%I RETURNING 1) SELECT count(*) FROM gone',
    pgmq.format_table_name(queue_name, 'q')) INTO n;
  RETURN n;
END
$$;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay timestamptz) RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('INSERT INTO pgmq.%I (vt, message, headers) VALUES ($1, $2, $3) RETURNING msg_id',
    pgmq.format_table_name(queue_name, 'q')) USING delay, msg, headers;
END
$$;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb) RETURNS SETOF bigint LANGUAGE sql AS $$
  SELECT * FROM pgmq.send(queue_name, msg, NULL, clock_timestamp())
$$;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb) RETURNS SETOF bigint LANGUAGE sql AS $$
  SELECT * FROM pgmq.send(queue_name, msg, headers, clock_timestamp())
$$;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, delay integer) RETURNS SETOF bigint LANGUAGE sql AS $$
  SELECT * FROM pgmq.send(queue_name, msg, NULL, clock_timestamp() + make_interval(secs => delay))
$$;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, delay timestamptz) RETURNS SETOF bigint LANGUAGE sql AS $$
  SELECT * FROM pgmq.send(queue_name, msg, NULL, delay)
$$;
CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay integer) RETURNS SETOF bigint
LANGUAGE sql AS $$
  SELECT * FROM pgmq.send(queue_name, msg, headers, clock_timestamp() + make_interval(secs => delay))
$$;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay timestamptz)
RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('INSERT INTO pgmq.%I (vt, message, headers) '
    'SELECT $1, m, h FROM unnest($2) WITH ORDINALITY AS x (m, i) LEFT JOIN unnest($3) WITH ORDINALITY AS y (h, j) '
    'ON x.i = y.j ORDER BY x.i RETURNING msg_id', pgmq.format_table_name(queue_name, 'q')) USING delay, msgs, headers;
END
$$;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[]) RETURNS SETOF bigint LANGUAGE sql AS $$
  SELECT * FROM pgmq.send_batch(queue_name, msgs, NULL, clock_timestamp())
$$;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[]) RETURNS SETOF bigint
LANGUAGE sql AS $$
  SELECT * FROM pgmq.send_batch(queue_name, msgs, headers, clock_timestamp())
$$;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay integer) RETURNS SETOF bigint LANGUAGE sql AS $$
  SELECT * FROM pgmq.send_batch(queue_name, msgs, NULL, clock_timestamp() + make_interval(secs => delay))
$$;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay timestamptz) RETURNS SETOF bigint
LANGUAGE sql AS $$
  SELECT * FROM pgmq.send_batch(queue_name, msgs, NULL, delay)
$$;
CREATE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay integer) RETURNS SETOF bigint
LANGUAGE sql AS $$
  SELECT * FROM pgmq.send_batch(queue_name, msgs, headers, clock_timestamp() + make_interval(secs => delay))
$$;
-- Visible messages (vt passed), oldest first, hidden again for `vt` seconds.
CREATE FUNCTION pgmq.read(queue_name text, vt integer, qty integer, conditional jsonb DEFAULT '{}')
RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('WITH cte AS (SELECT msg_id FROM pgmq.%1$I WHERE vt <= clock_timestamp() '
    'AND ($3 = ''{}''::jsonb OR message @> $3) ORDER BY msg_id LIMIT $1 FOR UPDATE SKIP LOCKED) '
    'UPDATE pgmq.%1$I m SET vt = clock_timestamp() + $2, read_ct = read_ct + 1 FROM cte WHERE m.msg_id = cte.msg_id '
    'RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers',
    pgmq.format_table_name(queue_name, 'q')) USING qty, make_interval(secs => vt), conditional;
END
$$;
CREATE FUNCTION pgmq.read_with_poll(queue_name text, vt integer, qty integer, max_poll_seconds integer DEFAULT 5,
    poll_interval_ms integer DEFAULT 100, conditional jsonb DEFAULT '{}')
RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
DECLARE
  stop_at timestamptz := clock_timestamp() + make_interval(secs => max_poll_seconds);
  found boolean;
  r pgmq.message_record;
BEGIN
  LOOP
    found := false;
    FOR r IN SELECT * FROM pgmq.read(queue_name, vt, qty, conditional) LOOP
      found := true;
      RETURN NEXT r;
    END LOOP;
    EXIT WHEN found OR clock_timestamp() >= stop_at;
    PERFORM pg_sleep(poll_interval_ms / 1000.0);
  END LOOP;
END
$$;
CREATE FUNCTION pgmq.pop(queue_name text) RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('WITH cte AS (SELECT msg_id FROM pgmq.%1$I WHERE vt <= clock_timestamp() '
    'ORDER BY msg_id LIMIT 1 FOR UPDATE SKIP LOCKED) DELETE FROM pgmq.%1$I m USING cte WHERE m.msg_id = cte.msg_id '
    'RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers', pgmq.format_table_name(queue_name, 'q'));
END
$$;
CREATE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt integer) RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('UPDATE pgmq.%I SET vt = clock_timestamp() + $2 WHERE msg_id = $1 '
    'RETURNING msg_id, read_ct, enqueued_at, vt, message, headers', pgmq.format_table_name(queue_name, 'q'))
    USING msg_id, make_interval(secs => vt);
END
$$;
CREATE FUNCTION pgmq.archive(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('WITH gone AS (DELETE FROM pgmq.%I WHERE msg_id = ANY($1) '
    'RETURNING msg_id, vt, read_ct, enqueued_at, message, headers) '
    'INSERT INTO pgmq.%I (msg_id, vt, read_ct, enqueued_at, message, headers) SELECT * FROM gone RETURNING msg_id',
    pgmq.format_table_name(queue_name, 'q'), pgmq.format_table_name(queue_name, 'a')) USING msg_ids;
END
$$;
CREATE FUNCTION pgmq.archive(queue_name text, msg_id bigint) RETURNS boolean LANGUAGE sql AS $$
  SELECT EXISTS (SELECT FROM pgmq.archive(queue_name, ARRAY[msg_id]))
$$;
CREATE FUNCTION pgmq.delete(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('DELETE FROM pgmq.%I WHERE msg_id = ANY($1) RETURNING msg_id',
    pgmq.format_table_name(queue_name, 'q')) USING msg_ids;
END
$$;
CREATE FUNCTION pgmq.delete(queue_name text, msg_id bigint) RETURNS boolean LANGUAGE sql AS $$
  SELECT EXISTS (SELECT FROM pgmq.delete(queue_name, ARRAY[msg_id]))
$$;
CREATE FUNCTION pgmq.list_queues() RETURNS SETOF pgmq.queue_record LANGUAGE sql AS $$
  SELECT queue_name, is_partitioned, is_unlogged, created_at FROM pgmq.meta
$$;
CREATE FUNCTION pgmq.metrics(queue_name text) RETURNS pgmq.metrics_result LANGUAGE plpgsql AS $$
DECLARE
  q text := pgmq.format_table_name(queue_name, 'q');
  result pgmq.metrics_result;
BEGIN
  EXECUTE format('SELECT $1, count(*), extract(epoch FROM now() - max(enqueued_at))::int, '
    'extract(epoch FROM now() - min(enqueued_at))::int, '
    '(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM pgmq.%I), now(), '
    'count(*) FILTER (WHERE vt <= now()) FROM pgmq.%I', q || '_msg_id_seq', q) INTO result USING queue_name;
  RETURN result;
END
$$;
CREATE FUNCTION pgmq.metrics_all() RETURNS SETOF pgmq.metrics_result LANGUAGE sql AS $$
  SELECT (pgmq.metrics(m.queue_name)).* FROM pgmq.meta m
$$;

-- stand-in: pg_jsonschema
-- where: Supabase: available, usually enabled in `extensions`.
-- schema: extensions
-- fixed schema: no
-- preinstalled: no
-- requires: 
-- lacks: a subset of JSON Schema: type, enum, const, required, properties, additionalProperties (false or a schema), items, minItems/maxItems, minLength/maxLength, minimum/maximum, pattern, allOf/anyOf/oneOf/not; no $ref, formats or other keywords (they are ignored, as by a permissive validator)
CREATE FUNCTION @extschema@._local_jsonschema_valid(schema jsonb, instance jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  t text := jsonb_typeof(instance);
  want jsonb;
  k text;
  v jsonb;
BEGIN
  IF jsonb_typeof(schema) = 'boolean' THEN
    RETURN schema::text::boolean;
  END IF;
  IF schema ? 'type' THEN
    want := CASE jsonb_typeof(schema -> 'type') WHEN 'array' THEN schema -> 'type' ELSE jsonb_build_array(schema -> 'type') END;
    IF NOT (want ? t OR (t = 'number' AND want ? 'integer' AND instance::text::numeric = trunc(instance::text::numeric))) THEN
      RETURN false;
    END IF;
    IF t = 'number' AND want ? 'integer' AND NOT want ? 'number' AND instance::text::numeric <> trunc(instance::text::numeric) THEN
      RETURN false;
    END IF;
  END IF;
  IF schema ? 'enum' AND NOT EXISTS (SELECT FROM jsonb_array_elements(schema -> 'enum') e WHERE e = instance) THEN
    RETURN false;
  END IF;
  IF schema ? 'const' AND schema -> 'const' <> instance THEN
    RETURN false;
  END IF;
  IF t = 'object' THEN
    IF schema ? 'required' AND EXISTS (SELECT FROM jsonb_array_elements_text(schema -> 'required') r WHERE NOT instance ? r) THEN
      RETURN false;
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(instance) LOOP
      IF schema -> 'properties' ? k THEN
        IF NOT @extschema@._local_jsonschema_valid(schema -> 'properties' -> k, v) THEN RETURN false; END IF;
      ELSIF schema ? 'additionalProperties' THEN
        IF NOT @extschema@._local_jsonschema_valid(schema -> 'additionalProperties', v) THEN RETURN false; END IF;
      END IF;
    END LOOP;
  END IF;
  IF t = 'array' THEN
    IF (schema ? 'minItems' AND jsonb_array_length(instance) < (schema ->> 'minItems')::int)
       OR (schema ? 'maxItems' AND jsonb_array_length(instance) > (schema ->> 'maxItems')::int)
       OR (jsonb_typeof(schema -> 'items') IN ('object', 'boolean') AND EXISTS (
             SELECT FROM jsonb_array_elements(instance) e WHERE NOT @extschema@._local_jsonschema_valid(schema -> 'items', e))) THEN
      RETURN false;
    END IF;
  END IF;
  IF t = 'string' THEN
    IF (schema ? 'minLength' AND length(instance #>> '{}') < (schema ->> 'minLength')::int)
       OR (schema ? 'maxLength' AND length(instance #>> '{}') > (schema ->> 'maxLength')::int)
       OR (schema ? 'pattern' AND NOT (instance #>> '{}') ~ (schema ->> 'pattern')) THEN
      RETURN false;
    END IF;
  END IF;
  IF t = 'number' THEN
    IF (schema ? 'minimum' AND instance::text::numeric < (schema ->> 'minimum')::numeric)
       OR (schema ? 'maximum' AND instance::text::numeric > (schema ->> 'maximum')::numeric) THEN
      RETURN false;
    END IF;
  END IF;
  IF schema ? 'allOf' AND EXISTS (SELECT FROM jsonb_array_elements(schema -> 'allOf') s WHERE NOT @extschema@._local_jsonschema_valid(s, instance)) THEN
    RETURN false;
  END IF;
  IF schema ? 'anyOf' AND NOT EXISTS (SELECT FROM jsonb_array_elements(schema -> 'anyOf') s WHERE @extschema@._local_jsonschema_valid(s, instance)) THEN
    RETURN false;
  END IF;
  IF schema ? 'oneOf' AND (SELECT count(*) FROM jsonb_array_elements(schema -> 'oneOf') s WHERE @extschema@._local_jsonschema_valid(s, instance)) <> 1 THEN
    RETURN false;
  END IF;
  IF schema ? 'not' AND @extschema@._local_jsonschema_valid(schema -> 'not', instance) THEN
    RETURN false;
  END IF;
  RETURN true;
END
$$;
CREATE FUNCTION @extschema@.json_matches_schema(schema json, instance json) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@._local_jsonschema_valid(schema::jsonb, instance::jsonb)
$$;
CREATE FUNCTION @extschema@.jsonb_matches_schema(schema json, instance jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@._local_jsonschema_valid(schema::jsonb, instance)
$$;
CREATE FUNCTION @extschema@.jsonschema_is_valid(schema json) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT jsonb_typeof(schema::jsonb) IN ('object', 'boolean')
$$;
CREATE FUNCTION @extschema@.jsonschema_validation_errors(schema json, instance json) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN @extschema@._local_jsonschema_valid(schema::jsonb, instance::jsonb) THEN ARRAY[]::text[]
              ELSE ARRAY[instance::text || ' does not match the schema (local stand-in: no details)'] END
$$;

-- stand-in: index_advisor
-- where: Supabase: available, in `extensions` (needs hypopg).
-- schema: extensions
-- fixed schema: no
-- preinstalled: no
-- requires: 
-- lacks: no hypothetical indexes (the real one tries them through hypopg): the costs are the query's plan as it is, and no index is ever suggested
CREATE FUNCTION @extschema@.index_advisor(query text)
RETURNS TABLE (startup_cost_before jsonb, startup_cost_after jsonb, total_cost_before jsonb, total_cost_after jsonb,
               index_statements text[], errors text[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  plan jsonb;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
  RETURN QUERY SELECT plan -> 0 -> 'Plan' -> 'Startup Cost', plan -> 0 -> 'Plan' -> 'Startup Cost',
    plan -> 0 -> 'Plan' -> 'Total Cost', plan -> 0 -> 'Plan' -> 'Total Cost', ARRAY[]::text[], ARRAY[]::text[];
EXCEPTION WHEN OTHERS THEN
  RETURN QUERY SELECT NULL::jsonb, NULL::jsonb, NULL::jsonb, NULL::jsonb, ARRAY[]::text[], ARRAY[SQLERRM];
END
$$;

-- stand-in: pg_hashids
-- where: Supabase: available, in `extensions`.
-- schema: extensions
-- fixed schema: no
-- preinstalled: no
-- requires: 
-- lacks: not the Hashids algorithm: ids round-trip (id_decode(id_encode(n)) = n, with the same salt and alphabet, padded to min_length) but the strings differ from the real extension's, so never store them
CREATE FUNCTION @extschema@._local_hashids_alphabet(salt text, alphabet text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  -- The alphabet in an order that depends on the salt.
  SELECT string_agg(c, '' ORDER BY md5(coalesce(salt, '') || c), c)
    FROM regexp_split_to_table(coalesce(nullif(alphabet, ''), 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890'), '') c
$$;
CREATE FUNCTION @extschema@.id_encode(numbers bigint[], salt text, min_length integer, alphabet text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  a text := @extschema@._local_hashids_alphabet(salt, alphabet);
  sep text := substr(a, 1, 1);
  digits text := substr(a, 2);
  base int := length(a) - 1;
  out text := '';
  part text;
  n bigint;
BEGIN
  FOREACH n IN ARRAY numbers LOOP
    IF n < 0 THEN RETURN NULL; END IF;
    part := '';
    LOOP
      part := substr(digits, (n % base)::int + 1, 1) || part;
      n := n / base;
      EXIT WHEN n = 0;
    END LOOP;
    out := out || CASE WHEN out = '' THEN '' ELSE sep END || part;
  END LOOP;
  -- Padding: separators in front, which decode ignores.
  RETURN repeat(sep, greatest(coalesce(min_length, 0) - length(out), 0)) || out;
END
$$;
CREATE FUNCTION @extschema@.id_decode(hashid text, salt text, min_length integer, alphabet text) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  a text := @extschema@._local_hashids_alphabet(salt, alphabet);
  digits text := substr(a, 2);
  base int := length(a) - 1;
  numbers bigint[] := ARRAY[]::bigint[];
  part text;
  n bigint;
  i int;
BEGIN
  FOR part IN SELECT unnest(string_to_array(ltrim(hashid, substr(a, 1, 1)), substr(a, 1, 1))) LOOP
    n := 0;
    FOR i IN 1 .. length(part) LOOP
      IF strpos(digits, substr(part, i, 1)) = 0 THEN RETURN ARRAY[]::bigint[]; END IF;
      n := n * base + strpos(digits, substr(part, i, 1)) - 1;
    END LOOP;
    numbers := numbers || n;
  END LOOP;
  RETURN numbers;
END
$$;
CREATE FUNCTION @extschema@.id_encode(number bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.id_encode(ARRAY[number], '', 0, '')
$$;
CREATE FUNCTION @extschema@.id_encode(number bigint, salt text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.id_encode(ARRAY[number], salt, 0, '')
$$;
CREATE FUNCTION @extschema@.id_encode(number bigint, salt text, min_length integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.id_encode(ARRAY[number], salt, min_length, '')
$$;
CREATE FUNCTION @extschema@.id_encode(number bigint, salt text, min_length integer, alphabet text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.id_encode(ARRAY[number], salt, min_length, alphabet)
$$;
CREATE FUNCTION @extschema@.id_encode(numbers bigint[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.id_encode(numbers, '', 0, '')
$$;
CREATE FUNCTION @extschema@.id_encode(numbers bigint[], salt text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.id_encode(numbers, salt, 0, '')
$$;
CREATE FUNCTION @extschema@.id_encode(numbers bigint[], salt text, min_length integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.id_encode(numbers, salt, min_length, '')
$$;
CREATE FUNCTION @extschema@.id_decode(hashid text) RETURNS bigint[] LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.id_decode(hashid, '', 0, '')
$$;
CREATE FUNCTION @extschema@.id_decode(hashid text, salt text) RETURNS bigint[] LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.id_decode(hashid, salt, 0, '')
$$;
CREATE FUNCTION @extschema@.id_decode(hashid text, salt text, min_length integer) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT @extschema@.id_decode(hashid, salt, min_length, '')
$$;
CREATE FUNCTION @extschema@.id_decode_once(hashid text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT (@extschema@.id_decode(hashid, '', 0, ''))[1]
$$;
CREATE FUNCTION @extschema@.id_decode_once(hashid text, salt text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT (@extschema@.id_decode(hashid, salt, 0, ''))[1]
$$;
CREATE FUNCTION @extschema@.id_decode_once(hashid text, salt text, min_length integer) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT (@extschema@.id_decode(hashid, salt, min_length, ''))[1]
$$;
CREATE FUNCTION @extschema@.id_decode_once(hashid text, salt text, min_length integer, alphabet text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT (@extschema@.id_decode(hashid, salt, min_length, alphabet))[1]
$$;
