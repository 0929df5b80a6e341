/* vigil subcommands: one int cmd_<name>(int argc, char **argv) per command,
 * argv[0] being the command name. Each returns the process exit status
 * (0 ok, 1 input/usage error, 2 internal error). */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

int cmd_detect(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_findings(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_cloudtrail(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_bus(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_investigate(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
/* vigil findings list|get|update|archive|unarchive|purge (cmd_findings_store.c). */
int cmd_findings_store(int argc, char **argv);

#endif
