-- +goose Up
-- Webhook jobs named their receiver by its URL, and River keeps a job's
-- arguments and the errors of its attempts (which quoted the URL) in the
-- database. A Slack-style webhook URL is itself the secret that lets
-- anyone post to the channel, so jobs now name their receiver by
-- jobargs.ReceiverID: the first 128 bits of
-- SHA-256('rolegate webhook receiver:' || url), in hex; the worker looks
-- the URL up among its own --webhook-urls. This moves the jobs stored
-- before (pending or finished) to that form and takes their URL out of
-- their recorded errors. On a new database River's tables do not exist
-- yet (its migrations run after rolegate's), and there is nothing to do.
-- +goose StatementBegin
DO $$
BEGIN
    IF to_regclass('river_job') IS NULL THEN
        RETURN;
    END IF;
    UPDATE river_job SET
        args = (args - 'url') || jsonb_build_object('receiver',
            left(encode(sha256(convert_to('rolegate webhook receiver:' || (args->>'url'), 'UTF8')), 'hex'), 32)),
        errors = (SELECT array_agg(CASE WHEN e ? 'error'
                                        THEN jsonb_set(e, '{error}', to_jsonb(replace(e->>'error', args->>'url', '(the webhook URL)')))
                                        ELSE e END ORDER BY n)
                  FROM unnest(errors) WITH ORDINALITY AS x(e, n))
    WHERE kind = 'webhook' AND args ? 'url';
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Nothing to undo: the worker delivers jobs that name their receiver
-- either way, and the URLs taken out are not kept anywhere to put back.
SELECT 1;
