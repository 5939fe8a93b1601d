-- +goose Up
-- The first schema: requests for EC2 instance roles, one row per version of
-- what was asked, the bucket scopes of each version, approvers' decisions and
-- an append-only audit trail. Constraints make impossible states unstorable.

CREATE TABLE requests (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role_name            text        NOT NULL
        CHECK (role_name ~ '^[A-Za-z0-9+=,.@_-]{1,64}$'),
    requester            text        NOT NULL CHECK (length(requester) BETWEEN 1 AND 256),
    status               text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'provisioning', 'active', 'rejected',
                          'cancelled', 'failed', 'revoking', 'revoked', 'expired')),
    status_reason        text        NOT NULL DEFAULT '' CHECK (length(status_reason) <= 4000),
    version              integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    role_arn             text        CHECK (role_arn LIKE 'arn:%:iam::%:role/%'),
    instance_profile_arn text        CHECK (instance_profile_arn LIKE 'arn:%:iam::%:instance-profile/%'),
    expires_at           timestamptz,
    activated_at         timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (updated_at >= created_at),
    -- An active role has both ARNs; nothing before provisioning has any.
    CHECK (status <> 'active' OR (role_arn IS NOT NULL AND instance_profile_arn IS NOT NULL
                                  AND activated_at IS NOT NULL)),
    CHECK (status NOT IN ('pending', 'approved', 'rejected', 'cancelled') OR version > 1
           OR (role_arn IS NULL AND instance_profile_arn IS NULL))
);

-- IAM role names are unique per account case-insensitively; a name is held
-- by every request that may still own (or come to own) the role.
CREATE UNIQUE INDEX requests_live_role_name ON requests (lower(role_name))
    WHERE status NOT IN ('rejected', 'cancelled', 'revoked', 'expired');
CREATE INDEX requests_status_id ON requests (status, id);
CREATE INDEX requests_requester_id ON requests (requester, id);

-- One row per version of a request: what was asked and why.
CREATE TABLE request_versions (
    request_id           bigint      NOT NULL REFERENCES requests (id),
    version              integer     NOT NULL CHECK (version >= 1),
    description          text        NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    justification        text        NOT NULL CHECK (length(btrim(justification)) BETWEEN 1 AND 4000),
    max_session_duration integer     CHECK (max_session_duration BETWEEN 3600 AND 43200),
    managed_policies     text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(managed_policies) <= 10),
    expires_at           timestamptz,
    created_by           text        NOT NULL CHECK (length(created_by) BETWEEN 1 AND 256),
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, version)
);

-- Every request points at a version that exists. Deferred, so a request and
-- its first version are inserted in one transaction in either order.
ALTER TABLE requests ADD CONSTRAINT requests_current_version_fk
    FOREIGN KEY (id, version) REFERENCES request_versions (request_id, version)
    DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE request_scopes (
    request_id bigint   NOT NULL,
    version    integer  NOT NULL,
    position   smallint NOT NULL CHECK (position BETWEEN 0 AND 99),
    bucket     text     NOT NULL CHECK (bucket ~ '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'),
    prefix     text     NOT NULL DEFAULT '' CHECK (length(prefix) <= 1024),
    access     text     NOT NULL CHECK (access IN ('read', 'write', 'read-write')),
    PRIMARY KEY (request_id, version, position),
    UNIQUE (request_id, version, bucket, prefix),
    FOREIGN KEY (request_id, version) REFERENCES request_versions (request_id, version)
);
CREATE INDEX request_scopes_bucket ON request_scopes (bucket, request_id);

-- One decision per approver per request version.
CREATE TABLE decisions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id bigint      NOT NULL,
    version    integer     NOT NULL,
    approver   text        NOT NULL CHECK (length(approver) BETWEEN 1 AND 256),
    decision   text        NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment    text        NOT NULL DEFAULT '' CHECK (length(comment) <= 4000),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (request_id, version, approver),
    FOREIGN KEY (request_id, version) REFERENCES request_versions (request_id, version)
);

-- The audit trail. Rows are only ever added: the trigger below refuses
-- UPDATE and DELETE, whoever asks.
CREATE TABLE audit_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id bigint REFERENCES requests (id),
    version    integer CHECK (version >= 1),
    actor      text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 256),
    kind       text        NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,63}$'),
    data       jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (version IS NULL OR request_id IS NOT NULL)
);
CREATE INDEX audit_events_request ON audit_events (request_id, id) WHERE request_id IS NOT NULL;
CREATE INDEX audit_events_actor ON audit_events (actor, id);

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE decisions;
DROP TABLE request_scopes;
ALTER TABLE requests DROP CONSTRAINT requests_current_version_fk;
DROP TABLE request_versions;
DROP TABLE requests;
