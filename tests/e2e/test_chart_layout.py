"""The census charts as chromium draws them (pages/widgets.py), from figures built with Hebrew names as
the ministry's school list writes them: each name reads right to left, two institutions of one name
are two bars, and no legend or count runs into another part of the chart on a narrow column."""
from __future__ import annotations

import pytest

from pages import widgets as W

# real names from the ministry's list: a final geresh, a final bracket, Latin letters inside
NAMES = ["עירוני א'", "אהבת ישראל (חרד\"ל)", "בית ספר ORT בראודה", "יסודי 12", "עירוני א'"]
SUPERVISION = ["ממלכתי", "ממלכתי-דתי", "חרדי", "ערבי", "דרוזי", "לא ידוע"]
SECTORS = {"יהודי": [1600, 230, 300, 0, 0, 3], "ערבי": [0, 0, 0, 80, 0, 1], "דרוזי": [0, 0, 0, 10, 40, 0],
           "בדואי": [0, 0, 0, 5, 0, 0], "לא ידוע": [1, 1, 0, 0, 0, 2]}
COMPOSITION = {"תושבים הלומדים ברשות": 1970, "תלמידי חוץ (נכנסים)": 28, "תושבים הלומדים מחוץ לרשות": 67,
               "תושבים לא משובצים": 28}
COMPOSITION_EN = {"Residents studying here": 1970, "Incoming": 28, "Residents studying elsewhere": 67,
                  "Unplaced residents": 28}

# Boxes on screen of what must not meet: the legend, axis labels, slices and their counts, the title.
OVERLAPS = """plot => {
  const box = e => e.getBoundingClientRect();
  const meet = (a, b) => a.width > 0 && b.width > 0 && a.left < b.right - 1 && b.left < a.right - 1
                         && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const parts = [...plot.querySelectorAll(
      'g.xtick text, g.ytick text, .g-xtitle text, .g-ytitle text, g.slice path.surface, g.slicetext text, '
      + 'path.textline, .cartesianlayer .plot')];
  const legend = plot.querySelector('g.legend'), title = plot.querySelector('.g-gtitle text');
  const found = [];
  for (const p of parts) {
    if (legend && meet(box(legend), box(p))) found.push('legend / ' + p.getAttribute('class') + ' ' + p.textContent);
    if (title && !p.matches('.plot') && meet(box(title), box(p))) found.push('title / ' + p.getAttribute('class') + ' ' + p.textContent);
  }
  return found;
}"""


def draw(browser, fig, width: int):
    page = browser.new_page(viewport={"width": width + 40, "height": 900})
    fig.update_layout(width=width)
    page.set_content("<html><body>" + fig.to_html(full_html=False, include_plotlyjs=True,
                                                  config={"displayModeBar": False}) + "</body></html>")
    page.wait_for_selector(".js-plotly-plot .main-svg")
    return page


def reading_order(page, text: str) -> list[str]:
    """The characters of the tick label showing `text`, from the rightmost on screen to the leftmost."""
    return page.evaluate("""text => {
        const el = [...document.querySelectorAll('g.ytick text')].find(e => e.textContent.includes(text));
        const chars = [...el.textContent].map((c, i) => [c, el.getStartPositionOfChar(i).x, el.getEndPositionOfChar(i).x]);
        return chars.filter(([c]) => c.trim() && !/[\\u2066-\\u2069]/.test(c))
                    .sort((a, b) => Math.max(b[1], b[2]) - Math.max(a[1], a[2])).map(([c]) => c);
    }""", text)


def test_institution_names_read_right_to_left_and_namesakes_are_separate_bars(browser):
    fig = W.bar_chart(NAMES, {"תושבים": [300, 250, 200, 150, 60], "תלמידי חוץ": [10, 5, 3, 2, 1]},
                      title="תלמידים לפי מוסד", lang="he", horizontal=True, height=300)
    page = draw(browser, fig, 700)
    try:
        # a Hebrew reader starts at the right: the name's first letter there, the geresh at its left end
        assert reading_order(page, "עירוני") == list("עירוניא'")
        assert reading_order(page, "חרד") == list('אהבתישראל(חרד"ל)')
        # the Latin word in the middle, itself left to right
        assert reading_order(page, "ORT") == list("ביתספר") + list("TRO") + list("בראודה")
        # five rows of bars, the two namesakes each in its own
        rows = page.evaluate("() => new Set([...document.querySelectorAll('g.trace.bars g.point path')]"
                             ".map(p => Math.round(p.getBoundingClientRect().top))).size")
        assert rows == len(NAMES)
        labels = page.evaluate("() => [...document.querySelectorAll('g.ytick text')].map(e => e.textContent)")
        assert sum("עירוני" in t for t in labels) == 2
    finally:
        page.close()


def narrow_chart(chart: str, lang: str):
    if chart == "supervision":
        return W.bar_chart(SUPERVISION, SECTORS, title="תלמידים במוסדות הרשות לפי פיקוח ומגזר", lang=lang,
                           y_title="תלמידים")
    parts = COMPOSITION if lang == "he" else COMPOSITION_EN
    return W.pie_chart(list(parts), list(parts.values()), lang=lang,
                       title="תושבים ותלמידי חוץ" if lang == "he" else "Residents and incoming students")


@pytest.mark.parametrize("chart", ["supervision", "composition"])
@pytest.mark.parametrize("lang,width", [("he", 330), ("he", 450), ("en", 330)])
def test_nothing_runs_into_the_legend_or_the_title_on_a_narrow_column(browser, chart, lang, width):
    page = draw(browser, narrow_chart(chart, lang), width)
    try:
        assert page.locator(".js-plotly-plot g.legend").count() == 1
        assert page.evaluate(OVERLAPS, page.locator(".js-plotly-plot").element_handle()) == []
    finally:
        page.close()
