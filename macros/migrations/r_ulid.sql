{#- ULID (26 chars, Crockford base32: 48-bit ms timestamp + 80 random bits)
    for match_run_id; sortable by creation time. -#}
{% macro migration_r_ulid() %}
create or replace function ses.new_ulid(p_at timestamptz default clock_timestamp())
returns text
language plpgsql
volatile
as $fn$
declare
    alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    -- 2 padding bits + 48 timestamp bits + 80 random bits = 26 x 5 bits
    bits bit varying := B'00'
        || (floor(extract(epoch from p_at) * 1000)::bigint)::bit(48)
        || substring(('x' || replace(gen_random_uuid()::text, '-', ''))::bit(128) from 1 for 80);
    result text := '';
begin
    for i in 0..25 loop
        result := result || substr(alphabet, substring(bits from i * 5 + 1 for 5)::bit(5)::integer + 1, 1);
    end loop;
    return result;
end;
$fn$;
{% endmacro %}
