package storetest

import "sync"

// AtOnce calls fn(0) … fn(n-1), each in its own goroutine, all released
// together, so that they race as concurrent callers would; it returns
// when every call has returned.
func AtOnce(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}
