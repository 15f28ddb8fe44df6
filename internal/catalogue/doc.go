// Package catalogue holds no code: its test checks that every case of the
// bad-input catalogue (testdata/badinputs/ids.txt) has a test function named
// after it somewhere in the module.
package catalogue
