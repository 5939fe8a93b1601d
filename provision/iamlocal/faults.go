package iamlocal

import (
	"maps"
	"math/rand/v2"
	"sync"
)

// faults counts calls and decides which of them fail on purpose.
type faults struct {
	mu      sync.Mutex
	calls   map[string]int
	writes  int
	pending map[string][]plannedFailure
	rng     *rand.Rand
}

// plannedFailure fails the call of an action whose count reaches at.
type plannedFailure struct {
	at   int
	code string
}

func newFaults(seed int64) *faults {
	return &faults{
		calls:   map[string]int{},
		pending: map[string][]plannedFailure{},
		rng:     rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
	}
}

func (f *faults) count(action string, write bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[action]++
	if write {
		f.writes++
	}
}

// inject returns the error the current call of action must fail with, or
// nil. A planned failure wins over the random ones; the random draw happens
// only when a rate is set, so a seed gives the same sequence every run.
func (f *faults) inject(action string, throttleRate, failureRate float64) *apiError {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.calls[action]
	plans := f.pending[action]
	for i, pl := range plans {
		if pl.at == n {
			f.pending[action] = append(plans[:i:i], plans[i+1:]...)
			return injectedError(pl.code, action, n)
		}
	}
	if throttleRate <= 0 && failureRate <= 0 {
		return nil
	}
	x := f.rng.Float64()
	switch {
	case x < throttleRate:
		return injectedError("Throttling", action, n)
	case x < throttleRate+failureRate:
		return injectedError("ServiceFailure", action, n)
	}
	return nil
}

func injectedError(code, action string, n int) *apiError {
	switch code {
	case "Throttling":
		return newError(code, "Rate exceeded")
	case "ServiceFailure":
		return newError(code, "An internal error occurred while processing %s (injected).", action)
	}
	return newError(code, "Call %d of %s failed with %s (injected).", n, action, code)
}

// FailNth makes the nth call (1-based, counted from now) of action fail with
// the IAM error code, answered with that code's usual HTTP status (400 for
// codes it does not know). n below 1 is ignored.
func (s *Server) FailNth(action string, n int, code string) {
	if n < 1 {
		return
	}
	f := s.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending[action] = append(f.pending[action], plannedFailure{at: f.calls[action] + n, code: code})
}

// Calls returns how many authenticated requests named action since the
// start or the last ResetCounters, including those that failed.
func (s *Server) Calls(action string) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.calls[action]
}

// CallCounts returns, for every action called since the start or the last
// ResetCounters, how many authenticated requests named it, including those
// that failed; actions not called are absent.
func (s *Server) CallCounts() map[string]int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return maps.Clone(s.faults.calls)
}

// WriteCalls returns how many calls of mutating actions were received since
// the start or the last ResetCounters, including those that failed.
func (s *Server) WriteCalls() int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.writes
}

// ResetCounters sets every call counter to zero and drops pending FailNth
// plans.
func (s *Server) ResetCounters() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.calls = map[string]int{}
	s.faults.writes = 0
	s.faults.pending = map[string][]plannedFailure{}
}
