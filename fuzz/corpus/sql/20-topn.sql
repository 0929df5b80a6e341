select eventTime, responseElements, userIdentity.arn from cloudtrail_000000000000
where year = '2024' and month = '06' and date_partition <= '2024/06/31'
and errorCode in ('AccessDenied') order by eventTime desc, useridentity.arn limit 25;
