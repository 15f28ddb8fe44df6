package main

import "testing"

func TestRun(t *testing.T) {
	if err := run(2, -1); err != nil {
		t.Fatal(err)
	}
	if err := run(2, 1); err != nil {
		t.Fatal(err)
	}
}
