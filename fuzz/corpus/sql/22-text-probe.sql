-- the text filter as vq_text_has
SELECT eventname FROM cloudtrail_logs WHERE eventname = 'GetObject' AND requestparameters LIKE '%acme-prod%' AND eventtime >= '2026-11-20T00:00:00Z' AND eventtime < '2026-11-21T00:00:00Z' ORDER BY eventtime
