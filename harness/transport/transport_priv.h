/*
 * transport_priv.h - helpers shared by the transport drivers.  Not public.
 */
#ifndef TB_TRANSPORT_PRIV_H
#define TB_TRANSPORT_PRIV_H

#include <stdint.h>

#include "tb_transport.h"

/* CLOCK_MONOTONIC in milliseconds. */
int64_t tb_transport_now_ms(void);

/* The deadline for timeout_ms from now; -1 (forever) if timeout_ms < 0. */
int64_t tb_transport_deadline(int timeout_ms);

/* Milliseconds left until deadline for poll(): -1 forever, 0 when past. */
int tb_transport_remaining(int64_t deadline);

/* Sleep ms milliseconds, resuming after signals. */
void tb_transport_sleep_ms(int ms);

#endif
