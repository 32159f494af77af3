/* SPDX-License-Identifier: MIT */
/*
 * bodydiag-ingest's configuration parser (fleet/ingest-config.c). Besides memory safety:
 * an accepted file leaves every string terminated and every number in its range; a refused
 * one names a line and column inside the input and a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_config cfg;
	struct ingest_config_error e = {0};
	char err[256];
	unsigned lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	ingest_config_defaults(&cfg);
	if (ingest_config_parse((const char *)data, size, &cfg, &e) == 0) {
		if (memchr(cfg.mqtt.host, '\0', sizeof(cfg.mqtt.host)) == NULL ||
		    memchr(cfg.database.conninfo, '\0', sizeof(cfg.database.conninfo)) == NULL ||
		    memchr(cfg.ingest.name, '\0', sizeof(cfg.ingest.name)) == NULL ||
		    cfg.mqtt.port > 65535 || cfg.ingest.queue_max < 10 || cfg.ingest.batch_max < 1 ||
		    cfg.ingest.batch_max > 10000 || cfg.mqtt.keepalive_s < 5)
			abort();
		(void)ingest_config_check(&cfg, err, sizeof(err));
	} else if (e.line < 1 || e.line > lines || e.column < 1 || !e.message[0]) {
		abort();
	}
	return 0;
}
