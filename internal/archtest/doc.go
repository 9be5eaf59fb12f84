// Package archtest checks the module's package layout.
package archtest
