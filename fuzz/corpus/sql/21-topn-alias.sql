select eventname e from cloudtrail order by e limit 3
