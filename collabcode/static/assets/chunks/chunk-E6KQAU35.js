var e=new URLSearchParams(window.location.search).get("test")==="1";export{e as a};
