package statuspage

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Series is one stacked layer of a bar chart: a value per hour.
type Series struct {
	Name   string
	Color  string
	Values []int
}

// Total sums the series.
func (s Series) Total() int {
	n := 0
	for _, v := range s.Values {
		n += v
	}
	return n
}

const (
	chartW, chartH = 960, 200
	padL, padR     = 44, 8
	padT, padB     = 10, 24
)

// barChart draws hourly stacked bars as inline SVG. Every bar carries its
// series, hour and value (data-series, data-hour, data-value) and a tooltip.
func barChart(id, title string, hours []time.Time, series []Series) template.HTML {
	maxV := 0
	for i := range hours {
		sum := 0
		for _, s := range series {
			sum += s.Values[i]
		}
		maxV = max(maxV, sum)
	}
	top := niceMax(maxV)
	plotW := float64(chartW - padL - padR)
	plotH := float64(chartH - padT - padB)
	slot := plotW / float64(max(len(hours), 1))
	barW := max(slot-2, 1)
	y := func(v int) float64 { return float64(padT) + plotH - plotH*float64(v)/float64(top) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, id, chartW, chartH, template.HTMLEscapeString(title))
	// Grid and y labels.
	for _, v := range []int{0, top / 2, top} {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, padL, chartW-padR, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="ylab">%d</text>`, padL-4, y(v)+4, v)
	}
	for i, h := range hours {
		x := float64(padL) + float64(i)*slot + 1
		if h.Hour()%6 == 0 {
			label := h.Format("15:04")
			if h.Hour() == 0 {
				label = h.Format("Jan 2")
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="xlab">%s</text>`, x, chartH-6, label)
		}
		base := 0
		for _, s := range series {
			v := s.Values[i]
			if v == 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-series="%s" data-hour="%s" data-value="%d"><title>%s %s: %d</title></rect>`,
				x, y(base+v), barW, y(base)-y(base+v), s.Color, template.HTMLEscapeString(s.Name), h.Format(time.RFC3339), v,
				h.Format("Jan 2 15:04"), template.HTMLEscapeString(s.Name), v)
			base += v
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten.
func niceMax(v int) int {
	if v <= 1 {
		return 2
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= v {
				if m*p%2 == 1 {
					return m*p + 1 // keep the half-way line on a whole number
				}
				return m * p
			}
		}
	}
}
