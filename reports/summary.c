/*
 * summary.c - per-run summaries (tb_summary.h).
 *
 * Two walks over the store: the selected runs (copied, tags read), then
 * their trials, which arrive ordered
 * by run id and are appended to the matching summary.  Statistics are
 * computed at the end, once per run.
 */
#include "tb_summary.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct load {
	struct tb_store *store;
	struct tb_summary_set *set;	/* the runs being loaded */
	size_t cursor;			/* set index of the last trial's run */
	struct tb_error *err;
};

static int nomem(struct tb_error *err)
{
	return tb_error_set(err, TB_ERR_NOMEM, "out of memory while summarising runs");
}

/* Append x to the array *v of *n values.  The capacity is implicit: 8,
 * then doubled whenever the count reaches a power of two. */
static int push_double(double **v, size_t *n, double x)
{
	size_t n0 = *n, cap;
	double *grown;

	if (n0 == 0 || (n0 >= 8 && (n0 & (n0 - 1)) == 0)) {
		cap = n0 ? 2 * n0 : 8;
		grown = realloc(*v, cap * sizeof(double));
		if (!grown)
			return -1;
		*v = grown;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static int add_tag(const char *key, const char *value, void *user)
{
	struct load *l = user;
	struct tb_run_summary *s = &l->set->v[l->set->n - 1];
	struct tb_tag *grown;

	grown = realloc(s->tags, (s->n_tags + 1) * sizeof(*s->tags));
	if (!grown)
		return nomem(l->err);
	s->tags = grown;
	s->tags[s->n_tags].key = strdup(key);
	s->tags[s->n_tags].value = strdup(value);
	if (!s->tags[s->n_tags].key || !s->tags[s->n_tags].value) {
		free(s->tags[s->n_tags].key);
		free(s->tags[s->n_tags].value);
		return nomem(l->err);
	}
	s->n_tags++;
	return 0;
}

/* The run's strings, for copy_run(). */
static const char **run_string(struct tb_run *r, int i)
{
	const char **p[] = {
		&r->reason, &r->info.board, &r->info.board_cpu, &r->info.timing_method,
		&r->info.workload, &r->info.model_hash, &r->info.runner_version,
		&r->info.runner_build_id, &r->info.harness_version,
		&r->info.harness_build_id, &r->info.host, &r->info.port,
		&r->info.input_source, &r->info.params_json, &r->info.firmware_sha256,
		&r->info.energy_method,
	};

	return i < (int)(sizeof(p) / sizeof(p[0])) ? p[i] : NULL;
}

/* One malloc()ed block holding the run and its strings (freed with
 * free()); the walk's run is only valid during the callback. */
static struct tb_run *copy_run(const struct tb_run *src)
{
	struct tb_run tmp = *src, *dst;
	const char **p;
	size_t size = sizeof(*dst), len;
	char *q;
	int i;

	for (i = 0; (p = run_string(&tmp, i)); i++)
		if (*p)
			size += strlen(*p) + 1;
	dst = malloc(size);
	if (!dst)
		return NULL;
	*dst = tmp;
	q = (char *)(dst + 1);
	for (i = 0; (p = run_string(dst, i)); i++) {
		if (!*p)
			continue;
		len = strlen(*p) + 1;
		memcpy(q, *p, len);
		*p = q;
		q += len;
	}
	return dst;
}

static int on_run(const struct tb_run *run, void *user)
{
	struct load *l = user;
	struct tb_summary_set *set = l->set;
	struct tb_run_summary *s, *grown;

	if (set->n == set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 64;

		grown = realloc(set->v, cap * sizeof(*set->v));
		if (!grown)
			return nomem(l->err);
		set->v = grown;
		set->cap = cap;
	}
	s = &set->v[set->n];
	memset(s, 0, sizeof(*s));
	s->inf_min_ms = NAN;
	s->inf_max_ms = NAN;
	s->stack_peak = s->stack_size = TB_STORE_UNKNOWN;
	s->arena_peak = s->arena_size = TB_STORE_UNKNOWN;
	s->link_retries = s->frames_dropped = TB_STORE_UNKNOWN;
	s->run = copy_run(run);
	if (!s->run)
		return nomem(l->err);
	set->n++;
	return tb_store_tags_foreach(l->store, run->id, add_tag, l, l->err);
}

static void max_into(int64_t *acc, int64_t v)
{
	if (v >= 0 && v > *acc)
		*acc = v;
}

static void sum_into(int64_t *acc, int64_t v)
{
	if (v < 0)
		return;
	*acc = *acc < 0 ? v : *acc + v;
}

static int on_trial(const struct tb_run *run, const struct tb_trial *t, void *user)
{
	struct load *l = user;
	struct tb_summary_set *set = l->set;
	struct tb_run_summary *s;

	while (l->cursor < set->n && set->v[l->cursor].run->id < run->id)
		l->cursor++;
	if (l->cursor >= set->n || set->v[l->cursor].run->id != run->id)
		return 0;	/* run added after the first walk: ignore */
	s = &set->v[l->cursor];
	s->n_trials++;
	if (t->status != TB_TRIAL_OK)
		return 0;
	s->n_ok++;
	s->inferences += t->inferences;
	if (t->output_check == TB_OUTPUT_MISMATCH)
		s->mismatches++;
	if (isfinite(t->latency_ms) && push_double(&s->lat, &s->n_lat, t->latency_ms))
		return nomem(l->err);
	if (isfinite(t->energy_uj) && push_double(&s->energy, &s->n_energy, t->energy_uj))
		return nomem(l->err);
	if (isfinite(t->power_mw) && push_double(&s->power, &s->n_power, t->power_mw))
		return nomem(l->err);
	if (t->stack_peak >= 0 && t->arena_peak >= 0 &&
	    push_double(&s->ram, &s->n_ram, (double)(t->stack_peak + t->arena_peak)))
		return nomem(l->err);
	if (isfinite(t->inf_min_ms) && !(t->inf_min_ms >= s->inf_min_ms))
		s->inf_min_ms = t->inf_min_ms;
	if (isfinite(t->inf_max_ms) && !(t->inf_max_ms <= s->inf_max_ms))
		s->inf_max_ms = t->inf_max_ms;
	max_into(&s->stack_peak, t->stack_peak);
	max_into(&s->stack_size, t->stack_size);
	max_into(&s->arena_peak, t->arena_peak);
	max_into(&s->arena_size, t->arena_size);
	sum_into(&s->link_retries, t->link_retries);
	sum_into(&s->frames_dropped, t->frames_dropped);
	return 0;
}

static int stats_of(const double *v, size_t n, struct tb_stats *out,
		    struct tb_error *err)
{
	double *scratch;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!n)
		return 0;
	scratch = malloc(n * sizeof(double));
	if (!scratch)
		return nomem(err);
	ret = tb_stats_summary(v, n, scratch, out, err);
	free(scratch);
	return ret;
}

static void summary_free(struct tb_run_summary *s)
{
	size_t i;

	free(s->run);
	free(s->lat);
	free(s->energy);
	free(s->power);
	free(s->ram);
	for (i = 0; i < s->n_tags; i++) {
		free(s->tags[i].key);
		free(s->tags[i].value);
	}
	free(s->tags);
}

static int cmp_id(const void *a, const void *b)
{
	const struct tb_run_summary *x = a, *y = b;

	return (x->run->id > y->run->id) - (x->run->id < y->run->id);
}

/* Move the runs of src that dst does not have yet into dst, keep dst
 * sorted by id.  src is emptied (its duplicates freed). */
static int merge(struct tb_summary_set *dst, struct tb_summary_set *src,
		 struct tb_error *err)
{
	struct tb_run_summary *grown;
	size_t i;

	if (!dst->n) {
		*dst = *src;
		memset(src, 0, sizeof(*src));
		return 0;
	}
	if (dst->n + src->n > dst->cap) {
		grown = realloc(dst->v, (dst->n + src->n) * sizeof(*dst->v));
		if (!grown)
			return nomem(err);
		dst->v = grown;
		dst->cap = dst->n + src->n;
	}
	for (i = 0; i < src->n; i++) {
		if (tb_summary_find(dst, src->v[i].run->id))
			summary_free(&src->v[i]);
		else
			dst->v[dst->n++] = src->v[i];
	}
	free(src->v);
	memset(src, 0, sizeof(*src));
	qsort(dst->v, dst->n, sizeof(*dst->v), cmp_id);
	return 0;
}

int tb_summary_load(struct tb_store *store, const struct tb_select *sel,
		    struct tb_summary_set *set, struct tb_error *err)
{
	struct tb_summary_set fresh = { 0 };
	struct load l = { .store = store, .set = &fresh, .err = err };
	size_t i;
	int ret;

	if (!store || !set)
		return tb_error_set(err, TB_ERR_ARG, "tb_summary_load: NULL argument");
	ret = tb_select_runs_foreach(store, sel, on_run, &l, err);
	if (ret)
		goto out_free;
	if (fresh.n) {
		ret = tb_select_trials_foreach(store, sel, on_trial, &l, err);
		if (ret)
			goto out_free;
	}
	for (i = 0; i < fresh.n; i++) {
		struct tb_run_summary *s = &fresh.v[i];

		ret = stats_of(s->lat, s->n_lat, &s->latency_ms, err);
		if (!ret)
			ret = stats_of(s->energy, s->n_energy, &s->energy_uj, err);
		if (!ret)
			ret = stats_of(s->power, s->n_power, &s->power_mw, err);
		if (!ret)
			ret = stats_of(s->ram, s->n_ram, &s->ram_b, err);
		if (ret)
			goto out_free;
	}
	ret = merge(set, &fresh, err);
	if (ret)
		goto out_free;
	return 0;
out_free:
	tb_summary_set_free(&fresh);
	return ret < 0 ? ret : tb_error_set(err, TB_ERR_DB, "reading runs stopped");
}

void tb_summary_set_free(struct tb_summary_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++)
		summary_free(&set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

const struct tb_run_summary *tb_summary_find(const struct tb_summary_set *set,
					     int64_t run_id)
{
	size_t lo = 0, hi = set->n, mid;

	/* The set is sorted by id (tb_summary_load keeps it so). */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (set->v[mid].run->id < run_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < set->n && set->v[lo].run->id == run_id ? &set->v[lo] : NULL;
}

const char *tb_summary_tag(const struct tb_run_summary *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n_tags; i++)
		if (!strcmp(s->tags[i].key, key))
			return s->tags[i].value;
	return NULL;
}

int64_t tb_summary_ram(const struct tb_run_summary *s, int *with_static)
{
	int64_t ram, st = s->run->info.static_ram_bytes;

	if (with_static)
		*with_static = 0;
	if (s->stack_peak < 0 || s->arena_peak < 0)
		return TB_STORE_UNKNOWN;
	ram = s->stack_peak + s->arena_peak;
	if (st >= 0) {
		ram += st;
		if (with_static)
			*with_static = 1;
	}
	return ram;
}

int tb_summary_usable(const struct tb_run_summary *s)
{
	return s->run->status == TB_RUN_OK && s->n_lat > 0;
}

int tb_timing_is_estimate(const char *m)
{
	if (!m)
		return 0;
	return strstr(m, "icount") || strstr(m, "instruction") ||
	       !strncmp(m, "emulat", 6) || !strncmp(m, "estimat", 7);
}

int tb_energy_is_emulated(const char *m)
{
	return m && !strncmp(m, "emulated:", 9);
}

size_t tb_summary_tags_text(const struct tb_run_summary *s, char *buf,
			    size_t len)
{
	size_t n = 0, i;
	const char *p;

#define PUT(c) do { if (n + 1 < len) buf[n] = (c); n++; } while (0)
	for (i = 0; i < s->n_tags; i++) {
		if (i)
			PUT(';');
		for (p = s->tags[i].key; *p; p++)
			PUT(*p);
		PUT('=');
		for (p = s->tags[i].value; *p; p++) {
			if (*p == '\\' || *p == ';')
				PUT('\\');
			PUT(*p);
		}
	}
#undef PUT
	if (len)
		buf[n < len ? n : len - 1] = '\0';
	return n;
}
