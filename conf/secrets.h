/*
 * secrets: the environment variables that carry secrets (REDIS_URL,
 * DROVER_SECRET_KEYS), taken out of the environment once at start.
 *
 * Once taken, the values live only in this process's memory: the
 * environment (and the original strings /proc/PID/environ shows) is wiped,
 * so no app, child or upgraded binary sees them there. An upgraded binary
 * gets them through an inherited, sealed memfd named by DROVER_SECRETS_FD.
 * It must not log values.
 */
#ifndef DROVER_SECRETS_H
#define DROVER_SECRETS_H

#define SECRETS_FD_ENV "DROVER_SECRETS_FD"

/*
 * Takes the secret variables: from the memfd named by DROVER_SECRETS_FD if
 * set (an upgrade), else from the environment; wipes them there. 0, or -1
 * with errno when the inherited memfd cannot be read.
 */
int secrets_take(void);
/* A secret variable's value: the taken one, or getenv() if nothing was taken. */
const char *secrets_get(const char *name);
/* A sealed memfd (close-on-exec) holding the taken values for an upgrade; -1 on failure. */
int secrets_export(void);

#endif
