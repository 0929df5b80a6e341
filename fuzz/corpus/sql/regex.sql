select regexp_replace(eventname, '(?<n>[A-Z])\w*?', '${n}-$0'), regexp_extract_all(eventname, '(?i)(get|list)'), approx_percentile(length(eventname), ARRAY[0.5, 0.9]) from cloudtrail
