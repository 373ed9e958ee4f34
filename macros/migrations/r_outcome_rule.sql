{#- R-03: interaction_logs.outcome / feedback_at always equal the outcome rule.
    A statement-level trigger recomputes, once per statement, every interaction
    the statement's feedback rows touch, with the same macro the dbt model uses.
    Concurrency: the interaction rows are locked in id order (FOR NO KEY
    UPDATE, which does not conflict with the FK's KEY SHARE lock; the order
    keeps concurrent statements from deadlocking) before the winners are read,
    and under READ COMMITTED that read is a new statement with a fresh
    snapshot, so the last writer to get the lock sees every committed event.
    REPEATABLE READ / SERIALIZABLE keep the transaction's first snapshot, so a
    writer there could miss an event committed meanwhile. Every recompute
    therefore writes the row, even when the outcome is unchanged: such a
    writer then fails to lock a row a concurrent transaction has updated
    (40001, retry) instead of storing an outcome computed without it. -#}
{% macro migration_r_outcome_rule() %}
-- Recompute the outcome of the given interactions; returns how many exist.
create or replace function ses.refresh_interaction_outcomes(p_interaction_ids bigint[])
returns integer
language plpgsql
volatile
set search_path = pg_catalog, ses, pg_temp
as $fn$
declare
    v_count integer;
begin
    perform 1
       from ses.interaction_logs as il
      where il.id = any(p_interaction_ids)
      order by il.id
        for no key update;
    -- unconditional: see the note on REPEATABLE READ above (a HOT update, no index write)
    update ses.interaction_logs as il
       set (outcome, feedback_at) = (
            select w.event_type, w.event_created_at
            from (
                {{ feedback_outcome_winners('ses.feedback_events', ses_relation('feedback_types'), 'ev.interaction_id = il.id') | indent(16) }}
            ) as w)
     where il.id = any(p_interaction_ids);
    get diagnostics v_count = row_count;
    return v_count;
end;
$fn$;

-- One interaction (the drift repair); its outcome after the recompute.
create or replace function ses.refresh_interaction_outcome(p_interaction_id bigint)
returns text
language plpgsql
volatile
set search_path = pg_catalog, ses, pg_temp
as $fn$
begin
    if ses.refresh_interaction_outcomes(array[p_interaction_id]) = 0 then
        raise exception 'unknown interaction_id %', p_interaction_id using errcode = '22023';
    end if;
    return (select il.outcome from ses.interaction_logs as il where il.id = p_interaction_id);
end;
$fn$;

create or replace function ses.trg_feedback_events_outcome()
returns trigger
language plpgsql
set search_path = pg_catalog, ses, pg_temp
as $fn$
begin
    perform ses.refresh_interaction_outcomes(array(select distinct c.interaction_id from changed as c));
    return null;
end;
$fn$;

-- Append-only except revocation (seed §3): a revoke UPDATEs the original row.
create or replace function ses.trg_feedback_events_guard()
returns trigger
language plpgsql
set search_path = pg_catalog, ses, pg_temp
as $fn$
begin
    if tg_op = 'DELETE' then
        raise exception 'feedback_events is append-only: cannot delete feedback event %', old.id
            using errcode = '55000', hint = 'revoke it with ses.revoke_feedback()';
    end if;
    if (new.id, new.interaction_id, new.feedback_type, new.actor, new.source, new.meta, new.created_at)
        is distinct from
       (old.id, old.interaction_id, old.feedback_type, old.actor, old.source, old.meta, old.created_at) then
        raise exception 'feedback_events is append-only: only revocation may update feedback event %', old.id
            using errcode = '55000';
    end if;
    if old.is_revoked and (new.is_revoked is distinct from old.is_revoked
                           or new.revoked_at is distinct from old.revoked_at
                           or new.revoked_by is distinct from old.revoked_by) then
        raise exception 'feedback event % is already revoked', old.id using errcode = '55000';
    end if;
    return new;
end;
$fn$;

drop trigger if exists feedback_events_guard on ses.feedback_events;
create trigger feedback_events_guard
    before update or delete on ses.feedback_events
    for each row execute function ses.trg_feedback_events_guard();

drop trigger if exists feedback_events_outcome_insert on ses.feedback_events;
create trigger feedback_events_outcome_insert
    after insert on ses.feedback_events
    referencing new table as changed
    for each statement execute function ses.trg_feedback_events_outcome();

-- Updates are revocations only (the guard above refuses anything else).
drop trigger if exists feedback_events_outcome_revoke on ses.feedback_events;
create trigger feedback_events_outcome_revoke
    after update on ses.feedback_events
    referencing new table as changed
    for each statement execute function ses.trg_feedback_events_outcome();
{% endmacro %}
