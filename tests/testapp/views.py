from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template import Context, Template
from django.views.generic import DetailView, ListView

from .models import Article, Note, Unregistered


class ArticleDetail(DetailView):
    model = Article
    template_name = "testapp/article.html"


class ArticleList(ListView):
    model = Article
    template_name = "testapp/article_list.html"


def notes(request: HttpRequest) -> HttpResponse:
    note = get_object_or_404(Note, pk=request.GET.get("p"))
    return HttpResponse(note.text)


def unregistered(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(Unregistered, pk=pk)
    return HttpResponse(obj.name)


def render_string(request: HttpRequest) -> HttpResponse:
    return HttpResponse(Template(request.GET["t"]).render(Context({"request": request})))
