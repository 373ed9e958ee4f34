{#- The model holds exactly one row (a one-row summary's grain). -#}
{% test single_row(model) %}
select n
from (select count(*) as n from {{ model }}) as c
where n <> 1
{% endtest %}
