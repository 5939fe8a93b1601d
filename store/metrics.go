package store

import (
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector exports the connection pool's statistics to Prometheus.
type poolCollector struct {
	db                                 *DB
	acquired, idle, total, max         *prometheus.Desc
	acquires, emptyAcquires, cancelled *prometheus.Desc
	acquireSeconds                     *prometheus.Desc
	sessionLookups, sessionHearing     *prometheus.Desc
}

// Collector returns a Prometheus collector of the pool's statistics
// (connections in use, idle and in total; acquisitions and their wait)
// and of session lookups (answered from memory or the database, and
// whether the session watcher hears changes).
func (db *DB) Collector() prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("rolegate_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{
		db:             db,
		acquired:       d("acquired_connections", "Connections currently in use."),
		idle:           d("idle_connections", "Connections currently idle."),
		total:          d("total_connections", "Connections currently open."),
		max:            d("max_connections", "The pool's connection limit."),
		acquires:       d("acquires_total", "Connections handed out."),
		emptyAcquires:  d("empty_acquires_total", "Acquisitions that had to wait for a connection."),
		cancelled:      d("cancelled_acquires_total", "Acquisitions abandoned by their caller."),
		acquireSeconds: d("acquire_seconds_total", "Total time spent waiting for connections."),
		sessionLookups: prometheus.NewDesc("rolegate_session_lookups_total",
			"Browser sessions looked up, by where the answer came from: memory (while the session watcher hears changes) or the database.",
			[]string{"from"}, nil),
		sessionHearing: prometheus.NewDesc("rolegate_session_watch_hearing",
			"1 while the session watcher hears every change to sessions (serve), so sessions may be answered from memory; 0 otherwise.", nil, nil),
	}
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.acquired, p.idle, p.total, p.max, p.acquires, p.emptyAcquires, p.cancelled, p.acquireSeconds,
		p.sessionLookups, p.sessionHearing} {
		ch <- d
	}
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.db.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	c := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(p.acquired, float64(s.AcquiredConns()))
	g(p.idle, float64(s.IdleConns()))
	g(p.total, float64(s.TotalConns()))
	g(p.max, float64(s.MaxConns()))
	c(p.acquires, float64(s.AcquireCount()))
	c(p.emptyAcquires, float64(s.EmptyAcquireCount()))
	c(p.cancelled, float64(s.CanceledAcquireCount()))
	c(p.acquireSeconds, s.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(p.sessionLookups, prometheus.CounterValue, float64(p.db.sessions.fromMemory.Load()), "memory")
	ch <- prometheus.MustNewConstMetric(p.sessionLookups, prometheus.CounterValue, float64(p.db.sessions.fromDatabase.Load()), "database")
	hearing := 0.0
	if p.db.SessionsRemembered() {
		hearing = 1
	}
	g(p.sessionHearing, hearing)
}
