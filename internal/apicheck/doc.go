// Package apicheck holds a test of the module's exported API as a whole:
// no package outside internal/ names a type of an internal package in an
// exported signature, which would make that API unusable (or unnameable)
// from another module.
package apicheck
