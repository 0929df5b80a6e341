/* investigate: helpers shared by the playbooks (private). */
#ifndef VIGIL_INVESTIGATE_INT_H
#define VIGIL_INVESTIGATE_INT_H

#include "investigate/investigate.h"

#include <sqlite3.h>

struct investigate_report *investigate__report_new(const char *kind, const char *title);
void investigate__summary(struct investigate_report *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A new table with the columns given as a NULL-terminated list. Borrowed from r. */
struct investigate_table *investigate__table(struct investigate_report *r, const char *title,
                                             const char *note, ...);
/* Appends a row: n_cols strings (NULL becomes ""). */
void investigate__row(struct investigate_table *t, ...);
void investigate__point(struct investigate_report *r, int64_t ms, const char *lane,
                        const char *label, bool failed);
/* ISO 8601 (seconds) into out. */
void investigate__time(int64_t ms, char out[32]);
/* A column of the current row as text, "" when NULL. */
const char *investigate__col(sqlite3_stmt *s, int i);
int investigate__db_err(sqlite3 *db, struct err *err, const char *what);

#endif
