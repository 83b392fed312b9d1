package admission

// Waiting is how many requests wait for a slot now, for the external tests.
func (a *Controller) Waiting() int64 { return a.waiting.Load() }
