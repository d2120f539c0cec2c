package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart geometry in viewBox units; the page scales the SVG to its width.
const (
	chartWidth  = 640
	labelWidth  = 170 // left margin for category labels of bar charts
	valueWidth  = 110 // right margin for the value printed after each bar
	titleHeight = 28
	legendRow   = 20
	axisHeight  = 48 // tick labels and the x-axis label
	barHeight   = 16
	barGap      = 4
	groupGap    = 10
	maxLabelLen = 24
)

// series is one set of bars, drawn with its CSS class.
type series struct {
	Name  string
	Class string
}

// barGroup is one category of a bar chart: one value per series, and the
// exact text printed after each bar.
type barGroup struct {
	Label  string
	Values []float64
	Texts  []string
}

// barChart is a horizontal bar chart: categories down the y axis, the
// value along the x axis.
type barChart struct {
	Title, XAxis, YAxis string
	Series              []series
	Groups              []barGroup
}

func esc(s string) string { return html.EscapeString(s) }

func shorten(s string) string {
	r := []rune(s)
	if len(r) <= maxLabelLen {
		return s
	}
	return string(r[:maxLabelLen-1]) + "…"
}

// niceTicks returns tick values from 0 to at least max in steps of 1, 2
// or 5 times a power of ten.
func niceTicks(maxValue float64) []float64 {
	if maxValue <= 0 || math.IsNaN(maxValue) || math.IsInf(maxValue, 0) {
		return []float64{0, 1}
	}
	raw := maxValue / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := pow * 10
	for _, m := range []float64{1, 2, 5} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	var ticks []float64
	for v := 0.0; ; v += step {
		ticks = append(ticks, v)
		if v >= maxValue {
			break
		}
	}
	return ticks
}

func tickText(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// SVG renders the chart. Every chart carries a <title>, a visible title
// (class chart-title) and both axis labels (x-label, y-label).
func (c barChart) SVG() string {
	legend := 0
	if len(c.Series) > 1 {
		legend = legendRow
	}
	groupHeight := len(c.Series)*(barHeight+barGap) - barGap
	plotTop := titleHeight + legend + 8
	plotHeight := len(c.Groups)*(groupHeight+groupGap) + groupGap
	height := plotTop + plotHeight + axisHeight
	plotLeft, plotWidth := labelWidth, chartWidth-labelWidth-valueWidth

	maxValue := 0.0
	for _, g := range c.Groups {
		for _, v := range g.Values {
			maxValue = math.Max(maxValue, v)
		}
	}
	ticks := niceTicks(maxValue)
	top := ticks[len(ticks)-1]
	x := func(v float64) float64 { return float64(plotLeft) + v/top*float64(plotWidth) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" `+
		`xmlns="http://www.w3.org/2000/svg">`, chartWidth, height)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	fmt.Fprintf(&b, `<text class="chart-title" x="%d" y="18">%s</text>`, 0, esc(c.Title))
	if legend > 0 {
		lx := plotLeft
		for _, s := range c.Series {
			fmt.Fprintf(&b, `<rect class="%s" x="%d" y="%d" width="12" height="12"/>`,
				esc(s.Class), lx, titleHeight)
			fmt.Fprintf(&b, `<text class="legend" x="%d" y="%d">%s</text>`,
				lx+16, titleHeight+10, esc(s.Name))
			lx += 24 + 8*len(s.Name)
		}
	}
	for _, t := range ticks {
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`,
			x(t), x(t), plotTop, plotTop+plotHeight)
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`,
			x(t), plotTop+plotHeight+16, tickText(t))
	}
	y := plotTop + groupGap
	for _, g := range c.Groups {
		fmt.Fprintf(&b, `<text class="category" x="%d" y="%d" text-anchor="end">`+
			`<title>%s</title>%s</text>`, plotLeft-6, y+groupHeight/2+4, esc(g.Label),
			esc(shorten(g.Label)))
		for i, v := range g.Values {
			by := y + i*(barHeight+barGap)
			class := "bar"
			if i < len(c.Series) {
				class = c.Series[i].Class
			}
			fmt.Fprintf(&b, `<rect class="%s" x="%d" y="%d" width="%.1f" height="%d"/>`,
				esc(class), plotLeft, by, x(v)-float64(plotLeft), barHeight)
			if i < len(g.Texts) {
				fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%d">%s</text>`,
					x(v)+4, by+barHeight-4, esc(g.Texts[i]))
			}
		}
		y += groupHeight + groupGap
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`,
		plotLeft, plotLeft, plotTop, plotTop+plotHeight)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`,
		plotLeft, plotLeft+plotWidth, plotTop+plotHeight, plotTop+plotHeight)
	fmt.Fprintf(&b, `<text class="axis-label x-label" x="%d" y="%d" text-anchor="middle">%s</text>`,
		plotLeft+plotWidth/2, height-8, esc(c.XAxis))
	fmt.Fprintf(&b, `<text class="axis-label y-label" x="%d" y="%d" text-anchor="middle" `+
		`transform="rotate(-90 %d %d)">%s</text>`, 12, plotTop+plotHeight/2, 12,
		plotTop+plotHeight/2, esc(c.YAxis))
	b.WriteString(`</svg>`)
	return b.String()
}

// column is one bar of a histogram.
type column struct {
	Label  string
	Value  int64
	Marked bool // drawn in the highlight colour
}

// histogram is a vertical column chart with a dashed marker line before
// column MarkerAt (no marker when MarkerAt < 0).
type histogram struct {
	Title, XAxis, YAxis string
	Columns             []column
	MarkerAt            int
	MarkerText          string
}

// SVG renders the histogram with the same title and axis classes as
// barChart.SVG.
func (h histogram) SVG() string {
	const height, left, right, plotTop, bottom = 320, 64, 16, titleHeight + 22, 56
	plotWidth := chartWidth - left - right
	plotHeight := height - plotTop - bottom
	maxValue := 0.0
	for _, c := range h.Columns {
		maxValue = math.Max(maxValue, float64(c.Value))
	}
	ticks := niceTicks(maxValue)
	top := ticks[len(ticks)-1]
	slot := float64(plotWidth) / float64(max(len(h.Columns), 1))
	y := func(v float64) float64 { return float64(plotTop+plotHeight) - v/top*float64(plotHeight) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" `+
		`xmlns="http://www.w3.org/2000/svg">`, chartWidth, height)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(h.Title))
	fmt.Fprintf(&b, `<text class="chart-title" x="0" y="18">%s</text>`, esc(h.Title))
	for _, t := range ticks {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`,
			left, left+plotWidth, y(t), y(t))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`,
			left-6, y(t)+4, tickText(t))
	}
	for i, c := range h.Columns {
		cx := float64(left) + slot*float64(i)
		class := "bar"
		if c.Marked {
			class = "bar-alert"
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f">`+
			`<title>%s: %d</title></rect>`, class, cx+slot*0.12, y(float64(c.Value)),
			slot*0.76, float64(plotTop+plotHeight)-y(float64(c.Value)), esc(c.Label), c.Value)
		fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%.1f" text-anchor="middle">%d</text>`,
			cx+slot/2, y(float64(c.Value))-4, c.Value)
		fmt.Fprintf(&b, `<text class="category" x="%.1f" y="%d" text-anchor="middle">%s</text>`,
			cx+slot/2, plotTop+plotHeight+16, esc(c.Label))
	}
	if h.MarkerAt >= 0 && h.MarkerAt <= len(h.Columns) {
		mx := float64(left) + slot*float64(h.MarkerAt)
		fmt.Fprintf(&b, `<line class="marker" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`,
			mx, mx, plotTop-6, plotTop+plotHeight)
		fmt.Fprintf(&b, `<text class="marker-label" x="%.1f" y="%d">%s</text>`,
			mx+4, plotTop-8, esc(h.MarkerText))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`,
		left, left, plotTop, plotTop+plotHeight)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`,
		left, left+plotWidth, plotTop+plotHeight, plotTop+plotHeight)
	fmt.Fprintf(&b, `<text class="axis-label x-label" x="%d" y="%d" text-anchor="middle">%s</text>`,
		left+plotWidth/2, height-8, esc(h.XAxis))
	fmt.Fprintf(&b, `<text class="axis-label y-label" x="%d" y="%d" text-anchor="middle" `+
		`transform="rotate(-90 %d %d)">%s</text>`, 14, plotTop+plotHeight/2, 14,
		plotTop+plotHeight/2, esc(h.YAxis))
	b.WriteString(`</svg>`)
	return b.String()
}
