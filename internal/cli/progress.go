package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Interruptible returns a context cancelled by SIGINT (Ctrl-C) or SIGTERM,
// which every long command stops on, leaving no partial output.
func Interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Progress draws a progress bar on a terminal. A nil *Progress draws
// nothing, so redirected stderr gets no bar.
type Progress struct {
	w          io.Writer
	desc, unit string
	bar        *progressbar.ProgressBar
	total      int
}

// NewProgress returns a bar described by desc, counting unit ("rows",
// "it"), drawn on w if w is a terminal, else nil.
func NewProgress(w io.Writer, desc, unit string) *Progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &Progress{w: w, desc: desc, unit: unit, total: -2}
}

// Update shows done out of total, or a count if total is -1.
func (p *Progress) Update(done, total int) {
	if p == nil {
		return
	}
	if p.bar == nil || total != p.total {
		p.total = total
		p.bar = progressbar.NewOptions64(int64(total),
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(p.unit),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionFullWidth(),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.bar.Set64(int64(done))
}

// Describe replaces the bar's description, such as with the latest bounds.
func (p *Progress) Describe(s string) {
	if p != nil && p.bar != nil {
		p.bar.Describe(s)
	}
}

// Finish clears the bar from the terminal.
func (p *Progress) Finish() {
	if p != nil && p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
	}
}
