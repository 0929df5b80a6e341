SELECT eventname, unnested.resources_entry.ARN, o FROM cloudtrail_logs CROSS JOIN UNNEST(resources) WITH ORDINALITY AS unnested (resources_entry, o) WHERE array_agg(1) IS NULL
