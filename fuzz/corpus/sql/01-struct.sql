select useridentity.sessioncontext.sessionissuer.arn, ct.useridentity.arn from cloudtrail_logs ct where eventtime > '2024-01-01T00:00:00Z' order by eventtime desc limit 5
