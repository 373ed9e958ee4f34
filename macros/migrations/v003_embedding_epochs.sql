{#- V003: a change counter per embedding cache, so database backends keep the
    talent matrix in memory and reload it only after a write. -#}
{% macro migration_v003_embedding_epochs() %}
create table if not exists ses.embedding_epochs (
    entity text not null check (entity in ('talent', 'project')),
    embedder varchar(50) not null,
    version varchar(20) not null,
    epoch bigint not null default 0,
    primary key (entity, embedder, version)
);
{% endmacro %}

{% macro migration_r_embedding_epochs() %}
-- SECURITY DEFINER: whoever fills a cache (the transformer's build, run_match)
-- bumps the counter without write access to it.
create or replace function ses.trg_bump_embedding_epoch()
returns trigger
language plpgsql
{{ security_definer() }}
as $fn$
begin
    insert into ses.embedding_epochs (entity, embedder, version, epoch)
    select tg_argv[0], c.embedder, c.version, 1 from changed as c group by c.embedder, c.version
    on conflict (entity, embedder, version) do update set epoch = ses.embedding_epochs.epoch + 1;
    return null;
end;
$fn$;
{% for entity in ['talent', 'project'] %}
{% for event, transition in [('insert', 'new'), ('update', 'new'), ('delete', 'old')] %}
drop trigger if exists {{ entity }}_embeddings_epoch_{{ event }} on ses.{{ entity }}_embeddings;
create trigger {{ entity }}_embeddings_epoch_{{ event }}
    after {{ event }} on ses.{{ entity }}_embeddings
    referencing {{ transition }} table as changed
    for each statement execute function ses.trg_bump_embedding_epoch('{{ entity }}');
{% endfor %}
{% endfor %}
{% endmacro %}
