import streamlit as st
st.title('cell_designer')
